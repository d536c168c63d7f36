"""The validated roster: what :func:`bot.roster.validate.validate` returns and the importer
writes. One entry per unit, person (merged over every sheet that names them), assignment and
semester, each remembering the Excel row it came from so that a later problem (one only the
database can see) still points at the right row. Plain dataclasses, no checks of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.core.models import PersonKind, Role, UnitKind


@dataclass(frozen=True)
class UnitEntry:
    row: int
    code: str
    name: str
    kind: UnitKind
    head: str | None


@dataclass
class PersonEntry:
    """One person as the whole file describes them (several sheets may name the same one)."""

    number: str
    name: str
    userid: str
    kind: PersonKind
    unit: str | None = None
    major: str | None = None
    grade: str | None = None
    counsellor: str | None = None
    wechat_plugin: bool = False  # 微信插件: sees no template cards
    roles: set[tuple[Role, str | None]] = field(default_factory=set)
    rows: list[tuple[str, int]] = field(default_factory=list)  # (sheet key, row)
    unit_rank: int = 99  # which sheet set ``unit``: mentor home unit wins over the others


@dataclass(frozen=True)
class AssignmentEntry:
    row: int
    mentor: str
    college: str
    student: str


@dataclass(frozen=True)
class SemesterEntry:
    row: int
    year: str
    number: int
    starts_on: date
    ends_on: date
    holidays: frozenset[int]


@dataclass
class Roster:
    units: list[UnitEntry]
    people: dict[str, PersonEntry]
    assignments: list[AssignmentEntry]
    semesters: list[SemesterEntry]

    def rows_in(self, sheet_key: str) -> int:
        return sum(
            1 for person in self.people.values() for sheet, _ in person.rows if sheet == sheet_key
        )
