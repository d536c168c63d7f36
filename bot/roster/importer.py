"""Writing a validated roster to the database: bulk, idempotent, never losing records.

Keys: unit code, staff/student number, (year, mentor) for assignments, (year, student) for a
student's mentor. Existing keys are loaded into dicts once; rows are inserted and updated in
bulk (``session.execute(insert(...), rows)``), never selected one by one. People missing from
a later file are marked inactive, never deleted; the roles of the people in the file are
exactly the roles the file gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import Database
from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    MentorAssignment,
    MentorStudent,
    Person,
    PersonKind,
    Record,
    Role,
    RoleGrant,
    Semester,
    TeachingWeek,
    Unit,
    UnitKind,
)
from bot.roster.calendar import parse_year_code, teaching_weeks, year_code_for
from bot.roster.columns import SHEETS, SHEETS_BY_KEY
from bot.roster.validate import PersonEntry, Roster, validate
from bot.roster.workbook import Progress, RawRoster, RosterIssue, read_workbook

CHUNK = 500

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"


class RosterInvalid(Exception):
    """The roster has problems; nothing was imported. ``issues`` lists every one."""

    def __init__(self, issues: Sequence[RosterIssue]) -> None:
        listed = "".join(f"\n{issue}" for issue in issues[:50])  # a traceback shows the rows
        more = f"\n……另有 {len(issues) - 50} 处" if len(issues) > 50 else ""
        super().__init__(f"名册有 {len(issues)} 处错误：{listed}{more}")
        self.issues = list(issues)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, status: str, n: int = 1) -> None:
        setattr(self, status, getattr(self, status) + n)


@dataclass
class ImportSummary:
    year: str
    sheets: dict[str, Counts] = field(default_factory=lambda: {s.key: Counts() for s in SHEETS})
    deactivated: int = 0
    roles_added: int = 0
    roles_removed: int = 0
    links_removed: int = 0
    assignments_removed: int = 0
    assignments_kept: int = 0
    assignments_untouched: bool = False

    @property
    def changes(self) -> int:
        """How many things changed; 0 when the same file is imported again."""
        return (
            sum(counts.added + counts.updated for counts in self.sheets.values())
            + self.deactivated
            + self.roles_removed
            + self.links_removed
            + self.assignments_removed
        )

    def lines(self) -> list[str]:
        lines = [f"名册导入完成（学年 {self.year}）："]
        for sheet in SHEETS:
            counts = self.sheets[sheet.key]
            lines.append(
                f"  {sheet.title}：新增 {counts.added}，更新 {counts.updated}，"
                f"未变 {counts.unchanged}"
            )
        lines.append(f"  角色：授予 {self.roles_added}，撤销 {self.roles_removed}")
        lines.append(f"  不在本名册中、已停用：{self.deactivated} 人")
        if self.assignments_untouched:
            lines.append("  分配表为空：本学年的分配未改动")
        else:
            lines.append(
                f"  移出分配的学生：{self.links_removed} 名；"
                f"移除的导师分配：{self.assignments_removed} 个"
                + (
                    f"（另有 {self.assignments_kept} 位已有工作记录的导师保留分配）"
                    if self.assignments_kept
                    else ""
                )
            )
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())


# --- entry points ---------------------------------------------------------------------------------


def resolve_year(roster: Roster, year: str | None, today: date) -> str:
    """The year the assignments are for: ``year``, else the calendar's only year, else the
    academic year containing ``today``."""
    if year is not None:
        if parse_year_code(year) is None:
            raise RosterInvalid(
                [RosterIssue(None, None, f"学年“{year}”格式不正确（应为 2025-2026）")]
            )
        return year
    years = {semester.year for semester in roster.semesters}
    if len(years) == 1:
        return years.pop()
    return year_code_for(today)


def import_roster(
    session: so.Session, raw: RawRoster, *, year: str | None, today: date
) -> ImportSummary:
    """Validate ``raw`` and write it; raise :class:`RosterInvalid` (nothing written) on any
    problem. The caller commits."""
    roster, issues = validate(raw)
    if roster is None:
        raise RosterInvalid(issues)
    return apply_roster(session, roster, year=resolve_year(roster, year, today))


def import_workbook(
    database: Database,
    path: str | Path,
    *,
    year: str | None,
    today: date,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read, validate and import a workbook in one transaction."""
    raw = read_workbook(path, progress)
    with database.session() as session:
        return import_roster(session, raw, year=year, today=today)


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


def apply_roster(session: so.Session, roster: Roster, *, year: str) -> ImportSummary:
    summary = ImportSummary(year)
    fixed = fixed_year_issues(roster, year, fixed_years(session))
    if fixed:
        raise RosterInvalid(fixed)
    state = _State.load(session)
    issues = _conflicts_with_database(roster, state)
    if issues:
        raise RosterInvalid(issues)
    unit_status = _apply_units(session, roster, state)
    unit_ids = _ids(session, Unit.code, Unit.id)
    person_status, person_ids = _apply_people(session, roster, state, unit_ids, summary)
    _apply_roles(session, roster, person_ids, unit_ids, person_status, summary)
    _apply_heads(session, roster, state, unit_ids, person_ids, unit_status)
    for unit in roster.units:
        summary.sheets["units"].add(unit_status[unit.code])
    for entry in roster.people.values():
        for sheet, _row in entry.rows:
            summary.sheets[sheet].add(person_status[entry.number])
    _apply_calendar(session, roster, summary)
    _apply_assignments(session, roster, year, person_ids, unit_ids, summary)
    session.flush()
    return summary


# --- what is there ---------------------------------------------------------------------------


class _UnitRow(NamedTuple):
    id: int
    name: str
    kind: UnitKind
    head_id: int | None


class _PersonRow(NamedTuple):
    id: int
    userid: str
    name: str
    kind: PersonKind
    unit_id: int | None
    major: str | None
    grade: str | None
    counsellor_id: int | None
    active: bool


_PERSON_FIELDS = ("userid", "name", "kind", "unit_id", "major", "grade", "counsellor_id", "active")


@dataclass
class _State:
    units: dict[str, _UnitRow]
    persons: dict[str, _PersonRow]

    @classmethod
    def load(cls, session: so.Session) -> _State:
        units = {
            row.code: _UnitRow(row.id, row.name, row.kind, row.head_id)
            for row in session.execute(
                sa.select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.head_id)
            )
        }
        columns = [getattr(Person, name) for name in _PERSON_FIELDS]
        persons = {
            row.number: _PersonRow(row.id, *(getattr(row, name) for name in _PERSON_FIELDS))
            for row in session.execute(sa.select(Person.id, Person.number, *columns))
        }
        return cls(units, persons)


def _ids(session: so.Session, key: Any, ident: Any, *where: Any) -> dict[Any, int]:
    return {row[0]: row[1] for row in session.execute(sa.select(key, ident).where(*where))}


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _where(entry: PersonEntry) -> tuple[str, int]:
    sheet, row = entry.rows[0]
    return SHEETS_BY_KEY[sheet].title, row


def _conflicts_with_database(roster: Roster, state: _State) -> list[RosterIssue]:
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


# --- units ------------------------------------------------------------------------------------


def _apply_units(session: so.Session, roster: Roster, state: _State) -> dict[str, str]:
    status: dict[str, str] = {}
    new, changed, renamed = [], [], []
    for unit in roster.units:
        current = state.units.get(unit.code)
        if current is None:
            new.append({"code": unit.code, "name": unit.name, "kind": unit.kind})
            status[unit.code] = ADDED
        elif (current.name, current.kind) != (unit.name, unit.kind):
            changed.append({"id": current.id, "name": unit.name, "kind": unit.kind})
            if current.name != unit.name:
                renamed.append({"id": current.id, "name": f"~{current.id}"})
            status[unit.code] = UPDATED
        else:
            status[unit.code] = UNCHANGED
    if renamed:  # two steps, so that two units may swap names
        session.execute(sa.update(Unit), renamed)
    if changed:
        session.execute(sa.update(Unit), changed)
    if new:
        session.execute(sa.insert(Unit), new)
    return status


def _apply_heads(
    session: so.Session,
    roster: Roster,
    state: _State,
    unit_ids: dict[str, int],
    person_ids: dict[str, int],
    status: dict[str, str],
) -> None:
    changed = []
    for unit in roster.units:
        head_id = person_ids[unit.head] if unit.head else None
        current = state.units.get(unit.code)
        if (current.head_id if current else None) != head_id:
            changed.append({"id": unit_ids[unit.code], "head_id": head_id})
            if status[unit.code] == UNCHANGED:
                status[unit.code] = UPDATED
    if changed:
        session.execute(sa.update(Unit), changed)


# --- people -----------------------------------------------------------------------------------


def _desired(
    entry: PersonEntry, unit_ids: dict[str, int], person_ids: dict[str, int]
) -> dict[str, Any]:
    return {
        "userid": entry.userid,
        "name": entry.name,
        "kind": entry.kind,
        "unit_id": unit_ids[entry.unit] if entry.unit else None,
        "major": entry.major,
        "grade": entry.grade,
        "counsellor_id": person_ids.get(entry.counsellor) if entry.counsellor else None,
        "active": True,
    }


def _apply_people(
    session: so.Session,
    roster: Roster,
    state: _State,
    unit_ids: dict[str, int],
    summary: ImportSummary,
) -> tuple[dict[str, str], dict[str, int]]:
    status: dict[str, str] = {}
    existing, new_staff, new_students = [], [], []
    for entry in roster.people.values():
        if entry.number in state.persons:
            existing.append(entry)
        elif entry.kind == PersonKind.STAFF:
            new_staff.append(entry)
        else:
            new_students.append(entry)

    # A userid may pass from one person to another in the same file: park the changing ones.
    parked = [
        {"id": state.persons[e.number].id, "userid": f"~{state.persons[e.number].id}"}
        for e in existing
        if state.persons[e.number].userid != e.userid
    ]
    if parked:
        session.execute(sa.update(Person), parked)

    person_ids = {number: row.id for number, row in state.persons.items()}
    if new_staff:
        _insert_people(session, new_staff, unit_ids, person_ids)
        person_ids.update(_ids(session, Person.number, Person.id, Person.kind == PersonKind.STAFF))

    updates = []
    for entry in existing:
        current = state.persons[entry.number]
        desired = _desired(entry, unit_ids, person_ids)
        if any(getattr(current, name) != value for name, value in desired.items()):
            updates.append({"id": current.id, **desired})
            status[entry.number] = UPDATED
        else:
            status[entry.number] = UNCHANGED
    if updates:
        session.execute(sa.update(Person), updates)

    if new_students:
        _insert_people(session, new_students, unit_ids, person_ids)
        person_ids.update(_ids(session, Person.number, Person.id))
    for entry in (*new_staff, *new_students):
        status[entry.number] = ADDED

    absent = [
        {"id": row.id, "active": False}
        for number, row in state.persons.items()
        if row.active and number not in roster.people
    ]
    if absent:
        session.execute(sa.update(Person), absent)
    summary.deactivated = len(absent)
    return status, person_ids


def _insert_people(
    session: so.Session,
    entries: Iterable[PersonEntry],
    unit_ids: dict[str, int],
    person_ids: dict[str, int],
) -> None:
    rows = [{"number": entry.number, **_desired(entry, unit_ids, person_ids)} for entry in entries]
    for chunk in _chunks(rows, 5000):
        session.execute(sa.insert(Person), chunk)


def _apply_roles(
    session: so.Session,
    roster: Roster,
    person_ids: dict[str, int],
    unit_ids: dict[str, int],
    status: dict[str, str],
    summary: ImportSummary,
) -> None:
    have: dict[int, dict[tuple[Role, int | None], int]] = {}
    for row in session.execute(
        sa.select(RoleGrant.id, RoleGrant.person_id, RoleGrant.role, RoleGrant.unit_id)
    ):
        have.setdefault(row.person_id, {})[(row.role, row.unit_id)] = row.id
    added, removed = [], []
    for entry in roster.people.values():
        person_id = person_ids[entry.number]
        want = {(role, unit_ids[code] if code else None) for role, code in entry.roles}
        current = have.get(person_id, {})
        new = want - current.keys()
        gone = current.keys() - want
        added.extend({"person_id": person_id, "role": role, "unit_id": unit} for role, unit in new)
        removed.extend(current[key] for key in gone)
        if (new or gone) and status[entry.number] == UNCHANGED:
            status[entry.number] = UPDATED
    for chunk in _chunks(removed):
        session.execute(sa.delete(RoleGrant).where(RoleGrant.id.in_(chunk)))
    for chunk in _chunks(added, 5000):
        session.execute(sa.insert(RoleGrant), chunk)
    summary.roles_added, summary.roles_removed = len(added), len(removed)


# --- calendar ---------------------------------------------------------------------------------


def ensure_year(session: so.Session, code: str) -> int:
    """The id of the academic year ``code``, created (1 Sep – 31 Aug) if missing."""
    year_id = session.scalar(sa.select(AcademicYear.id).where(AcademicYear.code == code))
    if year_id is not None:
        return year_id
    bounds = parse_year_code(code)
    assert bounds is not None, code
    year = AcademicYear(code=code, starts_on=bounds[0], ends_on=bounds[1])
    session.add(year)
    session.flush()
    return year.id


def _apply_calendar(session: so.Session, roster: Roster, summary: ImportSummary) -> None:
    counts = summary.sheets["calendar"]
    for entry in sorted(roster.semesters, key=lambda s: (s.year, s.number)):
        year_id = ensure_year(session, entry.year)
        weeks = teaching_weeks(entry.starts_on, entry.ends_on, entry.holidays)
        wanted = {(week.number, week.starts_on, week.ends_on) for week in weeks}
        semester = session.scalar(
            sa.select(Semester).where(Semester.year_id == year_id, Semester.number == entry.number)
        )
        if semester is None:
            semester = Semester(
                year_id=year_id,
                number=entry.number,
                starts_on=entry.starts_on,
                ends_on=entry.ends_on,
            )
            session.add(semester)
            session.flush()
            counts.add(ADDED)
        else:
            have = {
                tuple(row)
                for row in session.execute(
                    sa.select(
                        TeachingWeek.number, TeachingWeek.starts_on, TeachingWeek.ends_on
                    ).where(TeachingWeek.semester_id == semester.id)
                )
            }
            same_dates = (semester.starts_on, semester.ends_on) == (entry.starts_on, entry.ends_on)
            if same_dates and have == wanted:
                counts.add(UNCHANGED)
                continue
            semester.starts_on, semester.ends_on = entry.starts_on, entry.ends_on
            session.execute(sa.delete(TeachingWeek).where(TeachingWeek.semester_id == semester.id))
            counts.add(UPDATED)
        session.execute(
            sa.insert(TeachingWeek),
            [
                {
                    "semester_id": semester.id,
                    "number": week.number,
                    "starts_on": week.starts_on,
                    "ends_on": week.ends_on,
                }
                for week in weeks
            ],
        )
        session.flush()


# --- assignments ------------------------------------------------------------------------------


def _apply_assignments(
    session: so.Session,
    roster: Roster,
    year: str,
    person_ids: dict[str, int],
    unit_ids: dict[str, int],
    summary: ImportSummary,
) -> None:
    counts = summary.sheets["assignments"]
    if not roster.assignments:
        summary.assignments_untouched = True
        return
    year_id = ensure_year(session, year)
    current: dict[int, tuple[int, int]] = {
        row.mentor_id: (row.id, row.college_id)
        for row in session.execute(
            sa.select(
                MentorAssignment.id, MentorAssignment.mentor_id, MentorAssignment.college_id
            ).where(MentorAssignment.year_id == year_id)
        )
    }
    links: dict[int, tuple[int, int]] = {
        row.student_id: (row.id, row.assignment_id)
        for row in session.execute(
            sa.select(
                MentorStudent.id, MentorStudent.student_id, MentorStudent.assignment_id
            ).where(MentorStudent.year_id == year_id)
        )
    }

    colleges: dict[int, int] = {}
    for entry in roster.assignments:
        colleges[person_ids[entry.mentor]] = unit_ids[entry.college]
    new = [
        {"year_id": year_id, "mentor_id": mentor_id, "college_id": college_id}
        for mentor_id, college_id in colleges.items()
        if mentor_id not in current
    ]
    moved_college = {
        mentor_id
        for mentor_id, college_id in colleges.items()
        if mentor_id in current and current[mentor_id][1] != college_id
    }
    if moved_college:
        session.execute(
            sa.update(MentorAssignment),
            [{"id": current[m][0], "college_id": colleges[m]} for m in moved_college],
        )
    if new:
        session.execute(sa.insert(MentorAssignment), new)
    assignment_ids = _ids(
        session,
        MentorAssignment.mentor_id,
        MentorAssignment.id,
        MentorAssignment.year_id == year_id,
    )

    inserts, moves, wanted = [], [], set()
    for entry in roster.assignments:
        mentor_id, student_id = person_ids[entry.mentor], person_ids[entry.student]
        assignment_id = assignment_ids[mentor_id]
        wanted.add(student_id)
        link = links.get(student_id)
        if link is None:
            inserts.append(
                {"assignment_id": assignment_id, "year_id": year_id, "student_id": student_id}
            )
            counts.add(ADDED)
        elif link[1] != assignment_id:
            moves.append({"id": link[0], "assignment_id": assignment_id})
            counts.add(UPDATED)
        else:
            counts.add(UPDATED if mentor_id in moved_college else UNCHANGED)
    gone = [link_id for student_id, (link_id, _) in links.items() if student_id not in wanted]
    for chunk in _chunks(gone):
        session.execute(sa.delete(MentorStudent).where(MentorStudent.id.in_(chunk)))
    if moves:
        session.execute(sa.update(MentorStudent), moves)
    for chunk in _chunks(inserts, 5000):
        session.execute(sa.insert(MentorStudent), chunk)
    summary.links_removed = len(gone)

    dropped = [mentor_id for mentor_id in current if mentor_id not in colleges]
    if dropped:
        with_records: set[int] = set()
        for chunk in _chunks(dropped):
            with_records.update(
                session.scalars(
                    sa.select(Record.mentor_id)
                    .where(Record.year_id == year_id, Record.mentor_id.in_(chunk))
                    .distinct()
                )
            )
        removable = [current[m][0] for m in dropped if m not in with_records]
        for chunk in _chunks(removable):
            session.execute(sa.delete(MentorAssignment).where(MentorAssignment.id.in_(chunk)))
        summary.assignments_removed = len(removable)
        summary.assignments_kept = len(dropped) - len(removable)
