"""What the database already holds before a roster is written, loaded once per import, and
what only the database can tell about a file: units by code and people by number
(:class:`Stored`), a number, WeCom userid or unit name already taken by someone the file does
not mention (:func:`conflicts_with_database`), and the years whose assessment is published or
closed, whose assignments and calendar a roster may no longer change
(:func:`fixed_year_issues`). Also the two helpers every bulk statement of the import uses:
``ids`` (key → id in one select) and ``chunks`` (bounded ``IN`` lists and inserts).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    Person,
    PersonKind,
    Unit,
    UnitKind,
)
from bot.roster.columns import SHEETS_BY_KEY
from bot.roster.entries import PersonEntry, Roster
from bot.roster.workbook import RosterIssue

CHUNK = 500


class StoredUnit(NamedTuple):
    id: int
    name: str
    kind: UnitKind
    head_id: int | None


class StoredPerson(NamedTuple):
    id: int
    userid: str
    name: str
    kind: PersonKind
    unit_id: int | None
    major: str | None
    grade: str | None
    counsellor_id: int | None
    active: bool
    wechat_plugin: bool


_PERSON_FIELDS = (
    "userid",
    "name",
    "kind",
    "unit_id",
    "major",
    "grade",
    "counsellor_id",
    "active",
    "wechat_plugin",
)


@dataclass
class Stored:
    units: dict[str, StoredUnit]
    persons: dict[str, StoredPerson]

    @classmethod
    def load(cls, session: so.Session) -> Stored:
        units = {
            row.code: StoredUnit(row.id, row.name, row.kind, row.head_id)
            for row in session.execute(
                sa.select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.head_id)
            )
        }
        columns = [getattr(Person, name) for name in _PERSON_FIELDS]
        persons = {
            row.number: StoredPerson(row.id, *(getattr(row, name) for name in _PERSON_FIELDS))
            for row in session.execute(sa.select(Person.id, Person.number, *columns))
        }
        return cls(units, persons)


def ids(session: so.Session, key: Any, ident: Any, *where: Any) -> dict[Any, int]:
    return {row[0]: row[1] for row in session.execute(sa.select(key, ident).where(*where))}


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _where(entry: PersonEntry) -> tuple[str, int]:
    sheet, row = entry.rows[0]
    return SHEETS_BY_KEY[sheet].title, row


def conflicts_with_database(roster: Roster, state: Stored) -> list[RosterIssue]:
    """What only the database can tell: a number or userid or unit name already taken by
    someone (or some unit) the file does not mention."""
    issues = []
    kinds = {PersonKind.STUDENT: "学生", PersonKind.STAFF: "教职工"}
    holders = {row.userid.lower(): number for number, row in state.persons.items()}
    for entry in roster.people.values():
        sheet, row = _where(entry)
        current = state.persons.get(entry.number)
        if current is not None and current.kind != entry.kind:
            issues.append(
                RosterIssue(
                    sheet,
                    row,
                    f"编号“{entry.number}”在系统中是{kinds[current.kind]}，"
                    f"不能作为{kinds[entry.kind]}导入",
                )
            )
        holder = holders.get(entry.userid.lower())
        if holder is not None and holder != entry.number and holder not in roster.people:
            other = state.persons[holder]
            issues.append(
                RosterIssue(
                    sheet,
                    row,
                    f"企业微信账号“{entry.userid}”已被系统中的{other.name}（编号 {holder}）使用",
                )
            )
    codes = {unit.code for unit in roster.units}
    names = {row.name: code for code, row in state.units.items()}
    for unit in roster.units:
        holder = names.get(unit.name)
        if holder is not None and holder != unit.code and holder not in codes:
            issues.append(
                RosterIssue(
                    SHEETS_BY_KEY["units"].title,
                    unit.row,
                    f"单位名称“{unit.name}”已被系统中的单位“{holder}”使用",
                )
            )
    return issues


def fixed_years(session: so.Session) -> dict[str, CycleStatus]:
    """Years whose assessment is published (公示) or closed, with the status."""
    rows = session.execute(
        sa.select(AcademicYear.code, AssessmentCycle.status)
        .join(AssessmentCycle, AssessmentCycle.year_id == AcademicYear.id)
        .where(AssessmentCycle.status.in_([CycleStatus.PUBLISHED, CycleStatus.CLOSED]))
    )
    return {code: status for code, status in rows}


def fixed_year_issues(
    roster: Roster, year: str, fixed: dict[str, CycleStatus]
) -> list[RosterIssue]:
    """A roster may not change the assignments or the calendar of a year whose assessment is
    published or closed: its results are stored and read-only (closed) or change only by a
    correction with a reason (公示). People and units are still updated by a roster without
    assignments for that year (the stored results keep each mentor's college and unit)."""
    issues = []
    if roster.assignments and year in fixed:
        what = "已经结束，结果已确定" if fixed[year] == CycleStatus.CLOSED else "已经公示"
        issues.append(
            RosterIssue(
                SHEETS_BY_KEY["assignments"].title,
                None,
                f"{year} 学年的导师考核{what}，不能再导入该学年的导师分配。"
                "请用 --year 指定新学年（如 2026-2027），或删除分配表后只更新人员。",
            )
        )
    for entry in roster.semesters:
        if entry.year in fixed:
            issues.append(
                RosterIssue(
                    SHEETS_BY_KEY["calendar"].title,
                    entry.row,
                    f"{entry.year} 学年的导师考核已经公示或结束，不能再修改该学年的校历。",
                )
            )
    return issues
