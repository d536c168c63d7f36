"""Validation of a raw roster: every cell parsed (:mod:`bot.roster.cell_formats`), then the
references between sheets, duplicates and the calendar checked, row by row, sheet by sheet.

Every problem is collected (never only the first) as a :class:`RosterIssue` with the sheet,
the Excel row and a reason in Chinese. A :class:`~bot.roster.entries.Roster` is returned only
when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.models import PersonKind, Role, UnitKind
from bot.roster.calendar import parse_year_code, week_count
from bot.roster.cell_formats import PARSERS, BadCell, cell_text
from bot.roster.columns import (
    ADMIN_ROLE_TITLES,
    ADMINS,
    ASSIGNMENTS,
    CALENDAR,
    COUNSELLORS,
    MENTORS,
    SHEETS,
    STUDENTS,
    UNITS,
    SheetSpec,
)
from bot.roster.entries import AssignmentEntry, PersonEntry, Roster, SemesterEntry, UnitEntry
from bot.roster.workbook import RawRoster, RawRow, RosterIssue


@dataclass
class _Row:
    row: int
    values: dict[str, Any]  # parsed values; a missing or malformed cell is absent
    ok: bool

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)


def _shown(text: str) -> str:
    return text if len(text) <= 24 else text[:23] + "…"


# --- the validator ----------------------------------------------------------------------------


_ORDER = {sheet.title: position for position, sheet in enumerate(SHEETS)}


def validate(raw: RawRoster) -> tuple[Roster | None, list[RosterIssue]]:
    """Check every row; return the roster, or None and every issue found."""
    validator = _Validator(raw)
    roster = validator.run()
    issues = sorted(
        validator.issues, key=lambda issue: (_ORDER.get(issue.sheet or "", -1), issue.row or 0)
    )
    return (roster if not issues else None), issues


class _Validator:
    def __init__(self, raw: RawRoster) -> None:
        self.raw = raw
        self.issues: list[RosterIssue] = list(raw.issues)
        self.unit_rows: dict[str, _Row] = {}
        self.people: dict[str, PersonEntry] = {}
        self.userids: dict[str, tuple[str, str, int]] = {}  # lower userid → number, sheet, row
        self.first_row: dict[str, tuple[str, int]] = {}  # number → first (sheet title, row)

    def issue(self, spec: SheetSpec, row: int | None, message: str) -> None:
        self.issues.append(RosterIssue(spec.title, row, message))

    def parse(self, spec: SheetSpec) -> list[_Row]:
        parsed = []
        for raw_row in self.raw.sheets.get(spec.key, []):
            parsed.append(self._parse_row(spec, raw_row))
        return parsed

    def _parse_row(self, spec: SheetSpec, raw_row: RawRow) -> _Row:
        values: dict[str, Any] = {}
        ok = True
        for column in spec.columns:
            raw = raw_row.values.get(column.key)
            text = cell_text(raw)
            if text is None:
                if column.required:
                    self.issue(spec, raw_row.row, f"缺少“{column.header}”")
                    ok = False
                continue
            try:
                values[column.key] = PARSERS[column.format](raw, text)
            except BadCell as bad:
                self.issue(spec, raw_row.row, f"{column.header}“{_shown(text)}”{bad}")
                ok = False
        return _Row(raw_row.row, values, ok)

    def run(self) -> Roster:
        units = self.check_units()
        mentor_units = self.check_mentors()
        self.check_counsellors()
        self.check_students()
        self.check_admins()
        self.check_heads()
        assignments = self.check_assignments(mentor_units)
        semesters = self.check_calendar()
        return Roster(units, self.people, assignments, semesters)

    # units ------------------------------------------------------------------------------------

    def check_units(self) -> list[UnitEntry]:
        names: dict[str, int] = {}
        entries = []
        for row in self.parse(UNITS):
            code, name = row["code"], row["name"]
            if code is not None:
                if code in self.unit_rows:
                    first = self.unit_rows[code].row
                    self.issue(UNITS, row.row, f"单位代码“{code}”与第{first}行重复")
                    continue
                self.unit_rows[code] = row
            if name is not None:
                if name in names:
                    self.issue(UNITS, row.row, f"单位名称“{name}”与第{names[name]}行重复")
                    continue
                names[name] = row.row
            if row.ok:
                entries.append(UnitEntry(row.row, code, name, row["kind"], row["head"]))
        return entries

    def need_unit(self, spec: SheetSpec, row: int, header: str, code: str) -> bool:
        if code not in self.unit_rows:
            self.issue(spec, row, f"{header}“{code}”不存在")
            return False
        return True

    def need_college(self, spec: SheetSpec, row: int, header: str, code: str) -> bool:
        if not self.need_unit(spec, row, header, code):
            return False
        unit = self.unit_rows[code]
        if unit["kind"] is not None and unit["kind"] != UnitKind.COLLEGE:
            self.issue(spec, row, f"{header}“{code}”（{unit['name']}）不是学院")
            return False
        return True

    def unit_kind(self, code: str | None) -> UnitKind | None:
        unit = self.unit_rows.get(code) if code else None
        return unit["kind"] if unit is not None else None

    # people -----------------------------------------------------------------------------------

    def person(self, spec: SheetSpec, row: _Row, kind: PersonKind) -> PersonEntry | None:
        """The person a row names, merged with earlier rows for the same number."""
        number, name, userid = row["number"], row["name"], row["userid"]
        if number is None:
            return None
        entry = self.people.get(number)
        if entry is not None:
            sheet, first = self.first_row[number]
            label = "学号" if entry.kind == PersonKind.STUDENT else "工号"
            where = f"{sheet}表第{first}行"
            if entry.kind != kind:
                self.issue(spec, row.row, f"编号“{number}”与{where}的{label}相同")
                return None
            if name is not None and name != entry.name:
                self.issue(
                    spec, row.row, f"{label}“{number}”的姓名“{name}”与{where}的“{entry.name}”不一致"
                )
            if userid is not None and userid != entry.userid:
                self.issue(
                    spec,
                    row.row,
                    f"{label}“{number}”的企业微信账号“{userid}”与{where}的“{entry.userid}”不一致",
                )
            entry.rows.append((spec.key, row.row))
            return entry
        if name is None or userid is None:
            return None
        holder = self.userids.get(userid.lower())
        if holder is not None and holder[0] != number:
            self.issue(
                spec,
                row.row,
                f"企业微信账号“{userid}”已被{holder[1]}表第{holder[2]}行（编号 {holder[0]}）使用",
            )
            return None
        self.userids[userid.lower()] = (number, spec.title, row.row)
        self.first_row[number] = (spec.title, row.row)
        entry = PersonEntry(number, name, userid, kind, rows=[(spec.key, row.row)])
        self.people[number] = entry
        return entry

    @staticmethod
    def set_unit(entry: PersonEntry, code: str | None, rank: int) -> None:
        if code is not None and rank < entry.unit_rank:
            entry.unit, entry.unit_rank = code, rank

    def unique_in_sheet(self, spec: SheetSpec, row: _Row, seen: dict[Any, int], key: Any) -> bool:
        if key in seen:
            label = "学号" if spec is STUDENTS else "工号"
            self.issue(spec, row.row, f"{label}“{row['number']}”与第{seen[key]}行重复")
            return False
        seen[key] = row.row
        return True

    def check_mentors(self) -> dict[str, str]:
        seen: dict[Any, int] = {}
        home_units: dict[str, str] = {}
        for row in self.parse(MENTORS):
            if row["number"] is not None and not self.unique_in_sheet(
                MENTORS, row, seen, row["number"]
            ):
                continue
            unit = row["unit"]
            if unit is not None and not self.need_unit(MENTORS, row.row, "所在单位代码", unit):
                unit = None
            entry = self.person(MENTORS, row, PersonKind.STAFF)
            if entry is None:
                continue
            entry.roles.add((Role.MENTOR, None))
            self.set_unit(entry, unit, 0)
            if unit is not None:
                home_units[entry.number] = unit
        self.mentor_numbers = set(seen)
        return home_units

    def check_counsellors(self) -> None:
        seen: dict[Any, int] = {}
        for row in self.parse(COUNSELLORS):
            if row["number"] is not None and not self.unique_in_sheet(
                COUNSELLORS, row, seen, row["number"]
            ):
                continue
            college = row["college"]
            if college is not None and not self.need_college(
                COUNSELLORS, row.row, "学院代码", college
            ):
                college = None
            entry = self.person(COUNSELLORS, row, PersonKind.STAFF)
            if entry is None or college is None:
                continue
            entry.roles.add((Role.COUNSELLOR, college))
            self.set_unit(entry, college, 1)
        self.counsellor_numbers = set(seen)

    def check_students(self) -> None:
        seen: dict[Any, int] = {}
        for row in self.parse(STUDENTS):
            if row["number"] is not None and not self.unique_in_sheet(
                STUDENTS, row, seen, row["number"]
            ):
                continue
            college = row["college"]
            if college is not None and not self.need_college(
                STUDENTS, row.row, "学院代码", college
            ):
                college = None
            counsellor = row["counsellor"]
            if counsellor is not None and counsellor not in self.counsellor_numbers:
                self.issue(STUDENTS, row.row, f"辅导员工号“{counsellor}”不在辅导员表中")
            entry = self.person(STUDENTS, row, PersonKind.STUDENT)
            if entry is None:
                continue
            entry.roles.add((Role.STUDENT, None))
            entry.unit, entry.unit_rank = college, 0
            entry.major, entry.grade, entry.counsellor = row["major"], row["grade"], counsellor
            entry.wechat_plugin = bool(row["wechat_plugin"])
        self.student_colleges: dict[str, str | None] = {}
        for number in seen:
            entry = self.people.get(number)
            is_student = entry is not None and entry.kind == PersonKind.STUDENT
            self.student_colleges[number] = entry.unit if is_student else None

    def check_admins(self) -> None:
        seen: dict[Any, int] = {}
        for row in self.parse(ADMINS):
            number, role, unit = row["number"], row["role"], row["unit"]
            key = (number, role, unit)
            if number and role and not self.unique_in_sheet(ADMINS, row, seen, key):
                continue
            fits = role is not None
            if (unit is not None and not self.need_unit(ADMINS, row.row, "单位代码", unit)) or (
                role is not None and not self.admin_unit_fits(row.row, role, unit)
            ):
                fits = False
            entry = self.person(ADMINS, row, PersonKind.STAFF)
            if entry is None or not fits:
                continue
            entry.roles.add((role, unit))
            self.set_unit(entry, unit, 2)

    def admin_unit_fits(self, row: int, role: Role, unit: str | None) -> bool:
        title = ADMIN_ROLE_TITLES[role]
        if unit is None:
            if role not in (Role.SYSTEM_ADMIN, Role.HR, Role.ACADEMIC_AFFAIRS):
                self.issue(ADMINS, row, f"角色“{title}”需要填写单位代码")
                return False
            return True
        kind = self.unit_kind(unit)
        if kind is None:
            return True
        wanted = {
            Role.COLLEGE_ADMIN: ({UnitKind.COLLEGE}, "学院"),
            Role.COLLEGE_HEAD: ({UnitKind.COLLEGE}, "学院"),
            Role.ACADEMY_ADMIN: ({UnitKind.ACADEMY}, "书院部"),
            Role.UNIT_HEAD: (
                {UnitKind.ACADEMY, UnitKind.OTHER},
                "书院部或其他单位（学院请用“学院负责人”）",
            ),
            Role.HR: ({UnitKind.OTHER}, "其他单位"),
            Role.ACADEMIC_AFFAIRS: ({UnitKind.OTHER}, "其他单位"),
        }.get(role)
        if wanted is not None and kind not in wanted[0]:
            name = self.unit_rows[unit]["name"]
            self.issue(ADMINS, row, f"角色“{title}”的单位“{unit}”（{name}）应为{wanted[1]}")
            return False
        return True

    def check_heads(self) -> None:
        for code, row in self.unit_rows.items():
            head = row["head"]
            if head is None:
                continue
            entry = self.people.get(head)
            if entry is None or entry.kind != PersonKind.STAFF:
                self.issue(UNITS, row.row, f"负责人工号“{head}”不在导师、辅导员或管理员表中")
                continue
            kind = row["kind"]
            if kind is None:
                continue
            role = Role.COLLEGE_HEAD if kind == UnitKind.COLLEGE else Role.UNIT_HEAD
            entry.roles.add((role, code))
            self.set_unit(entry, code, 3)

    # assignments ------------------------------------------------------------------------------

    def check_assignments(self, mentor_units: dict[str, str]) -> list[AssignmentEntry]:
        entries = []
        students: dict[str, int] = {}
        colleges: dict[str, tuple[str, int]] = {}
        for row in self.parse(ASSIGNMENTS):
            mentor, college, student = row["mentor"], row["college"], row["student"]
            ok = row.ok
            if mentor is not None and mentor not in self.mentor_numbers:
                self.issue(ASSIGNMENTS, row.row, f"导师工号“{mentor}”不在导师表中")
                ok = False
            if college is not None and not self.need_college(
                ASSIGNMENTS, row.row, "考核学院代码", college
            ):
                ok = False
                college = None
            if student is not None:
                if student not in self.student_colleges:
                    self.issue(ASSIGNMENTS, row.row, f"学号“{student}”不在学生表中")
                    ok = False
                elif student in students:
                    self.issue(
                        ASSIGNMENTS,
                        row.row,
                        f"学号“{student}”已在第{students[student]}行分配，"
                        "一名学生一个学年只能有一位导师",
                    )
                    ok = False
                else:
                    students[student] = row.row
            if mentor is not None and college is not None:
                if mentor in colleges and colleges[mentor][0] != college:
                    first, first_row = colleges[mentor]
                    self.issue(
                        ASSIGNMENTS,
                        row.row,
                        f"导师“{mentor}”的考核学院“{college}”与第{first_row}行的“{first}”不一致",
                    )
                    ok = False
                colleges.setdefault(mentor, (college, row.row))
                if mentor_units.get(mentor) == college:
                    self.issue(
                        ASSIGNMENTS,
                        row.row,
                        f"导师“{mentor}”所在单位就是考核学院“{college}”，异科导师应由其他学院考核",
                    )
                    ok = False
            if college is not None and student is not None:
                student_college = self.student_colleges.get(student)
                if student_college is not None and student_college != college:
                    self.issue(
                        ASSIGNMENTS,
                        row.row,
                        f"学生“{student}”属于学院“{student_college}”，与考核学院“{college}”不一致",
                    )
                    ok = False
            if ok:
                entries.append(AssignmentEntry(row.row, mentor, college, student))
        return entries

    # calendar ---------------------------------------------------------------------------------

    def check_calendar(self) -> list[SemesterEntry]:
        entries: dict[tuple[str, int], SemesterEntry] = {}
        for row in self.parse(CALENDAR):
            year, number, starts, ends = row["year"], row["semester"], row["starts"], row["ends"]
            holidays = row["holidays"] or frozenset()
            ok = row.ok
            if year is not None and number is not None and (year, number) in entries:
                first = entries[(year, number)].row
                self.issue(CALENDAR, row.row, f"{year} 学年第{number}学期与第{first}行重复")
                continue
            if starts is not None and ends is not None:
                if starts >= ends:
                    self.issue(CALENDAR, row.row, "开始日期应早于结束日期")
                    ok = False
                elif year is not None:
                    bounds = parse_year_code(year)
                    assert bounds is not None
                    if starts < bounds[0] or ends > bounds[1]:
                        self.issue(
                            CALENDAR,
                            row.row,
                            f"日期不在 {year} 学年（{bounds[0]} 至 {bounds[1]}）内",
                        )
                        ok = False
                if ok:
                    weeks = week_count(starts, ends)
                    outside = sorted(week for week in holidays if week > weeks)
                    if outside:
                        shown = ",".join(map(str, outside))
                        self.issue(
                            CALENDAR, row.row, f"非教学周“{shown}”超出本学期的周数（共{weeks}周）"
                        )
                        ok = False
            if ok:
                entries[(year, number)] = SemesterEntry(
                    row.row, year, number, starts, ends, frozenset(holidays)
                )
        for (year, number), second in entries.items():
            first = entries.get((year, 1))
            if number == 2 and first is not None and second.starts_on <= first.ends_on:
                self.issue(
                    CALENDAR, second.row, f"第2学期应在第1学期（第{first.row}行）结束之后开始"
                )
        return list(entries.values())
