"""A valid roster imports; importing it again changes nothing; people in several sheets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    Person,
    PersonKind,
    Role,
    Semester,
    TeachingWeek,
    Unit,
)
from tests.roster.helpers import do_import, table_counts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roster-example.xlsx"


def _person(session, userid: str) -> Person:
    return session.scalars(sa.select(Person).where(Person.userid == userid)).one()


def test_example_workbook_imports(runner, database):
    result = runner.invoke(args=["roster", "import", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "名册导入完成（学年 2025-2026）" in result.output
    assert "学生：新增 12，更新 0，未变 0" in result.output
    counts = table_counts(database)
    assert counts["unit"] == 8
    assert counts["mentor_assignment"] == 4
    assert counts["mentor_student"] == 12
    assert counts["semester"] == 2
    with database.session() as session:
        wang = _person(session, "wanglaoshi")
        assert wang.name == "王建国" and wang.kind == PersonKind.STAFF
        assert wang.unit.code == "ICE"
        assert [g.role for g in wang.roles] == [Role.MENTOR]
        zhangsan = _person(session, "zhangsan")
        assert zhangsan.kind == PersonKind.STUDENT and zhangsan.unit.code == "CS"
        assert zhangsan.grade == "2024" and zhangsan.major
        assert zhangsan.counsellor.userid == "chenjing"
        link = session.scalars(
            sa.select(MentorStudent).where(MentorStudent.student_id == zhangsan.id)
        ).one()
        assert link.assignment.mentor_id == wang.id
        assert link.assignment.college.code == "CS"
        assert link.assignment.year.code == "2025-2026"


def test_roles_and_heads(database, records):
    do_import(database, records)
    with database.session() as session:
        units = {u.code: u for u in session.scalars(sa.select(Unit))}

        def roles(userid: str) -> set[tuple[Role, str | None]]:
            person = _person(session, userid)
            return {(g.role, g.unit.code if g.unit else None) for g in person.roles}

        assert roles("zhangsan") == {(Role.STUDENT, None)}
        assert roles("chenjing") == {(Role.COUNSELLOR, "CS")}
        assert roles("cs_admin") == {(Role.COLLEGE_ADMIN, "CS")}
        assert roles("cs_dean") == {(Role.COLLEGE_HEAD, "CS")}
        assert roles("shuyuan_admin") == {(Role.ACADEMY_ADMIN, "SY")}
        assert roles("shuyuan_head") == {(Role.UNIT_HEAD, "SY")}
        assert roles("sysadmin") == {(Role.SYSTEM_ADMIN, None)}
        assert units["CS"].head.userid == "cs_dean"
        assert units["SY"].head.userid == "shuyuan_head"
        assert units["LIB"].head.userid == "liulaoshi"


def test_a_person_in_several_sheets_is_one_person_with_every_role(database, records):
    do_import(database, records)
    with database.session() as session:
        zhao = session.scalars(sa.select(Person).where(Person.number == "20100003")).one()
        assert {(g.role, g.unit.code if g.unit else None) for g in zhao.roles} == {
            (Role.MENTOR, None),
            (Role.COLLEGE_ADMIN, "DE"),
        }
        assert zhao.unit.code == "DE"  # the mentor's home unit
        liu = _person(session, "liulaoshi")
        assert {g.role for g in liu.roles} == {Role.MENTOR, Role.UNIT_HEAD}
        numbers = session.scalars(sa.select(Person.number)).all()
        assert len(numbers) == len(set(numbers))


def test_second_import_changes_nothing(runner, database, records, workbook):
    path = workbook(records)
    first = runner.invoke(args=["roster", "import", str(path)])
    assert first.exit_code == 0, first.output
    before = table_counts(database)
    with database.engine.connect() as connection:
        people = connection.execute(sa.select(Person).order_by(Person.id)).all()
    second = runner.invoke(args=["roster", "import", str(path)])
    assert second.exit_code == 0, second.output
    assert "新增 0，更新 0" in second.output
    for line in second.output.splitlines()[1:8]:
        assert "新增 0，更新 0" in line, line
    assert "授予 0，撤销 0" in second.output
    assert table_counts(database) == before
    with database.engine.connect() as connection:
        assert connection.execute(sa.select(Person).order_by(Person.id)).all() == people
    assert do_import(database, records).changes == 0


def test_calendar_becomes_teaching_weeks(database, records):
    do_import(database, records)
    with database.session() as session:
        year = session.scalars(sa.select(AcademicYear)).one()
        assert (year.code, year.starts_on, year.ends_on) == (
            "2025-2026",
            date(2025, 9, 1),
            date(2026, 8, 31),
        )
        first, second = year.semesters
        assert (first.starts_on, first.ends_on) == (date(2025, 9, 8), date(2026, 1, 16))
        weeks = first.teaching_weeks
        assert [w.number for w in weeks] == [1, 2, 3, *range(5, 20)]  # week 4: National Day
        assert (weeks[0].starts_on, weeks[0].ends_on) == (date(2025, 9, 8), date(2025, 9, 14))
        assert weeks[3].starts_on == date(2025, 10, 6)
        assert weeks[-1].ends_on == date(2026, 1, 16)  # clipped to the semester
        assert len(second.teaching_weeks) == 19
        assert second.teaching_weeks[-1].ends_on == date(2026, 7, 3)


def test_calendar_change_replaces_the_weeks(database, records):
    do_import(database, records)
    records["calendar"][1]["holidays"] = "10"
    records["calendar"][0]["starts"] = date(2025, 9, 10)  # a Wednesday
    summary = do_import(database, records)
    assert summary.sheets["calendar"].updated == 2
    with database.session() as session:
        semesters = session.scalars(sa.select(Semester).order_by(Semester.number)).all()
        first_week = session.scalars(
            sa.select(TeachingWeek)
            .where(TeachingWeek.semester_id == semesters[0].id)
            .order_by(TeachingWeek.number)
        ).first()
        assert (first_week.starts_on, first_week.ends_on) == (date(2025, 9, 10), date(2025, 9, 14))
        numbers = session.scalars(
            sa.select(TeachingWeek.number).where(TeachingWeek.semester_id == semesters[1].id)
        ).all()
        assert 10 not in numbers and len(numbers) == 18


def test_year_option_and_default(database, records):
    records["calendar"] = []
    do_import(database, records, year="2026-2027")
    with database.session() as session:
        codes = session.scalars(
            sa.select(AcademicYear.code).join(
                MentorAssignment, MentorAssignment.year_id == AcademicYear.id
            )
        ).all()
        assert set(codes) == {"2026-2027"}


def test_bad_year_option_is_refused(runner, database, records, workbook):
    result = runner.invoke(args=["roster", "import", str(workbook(records)), "--year", "2025"])
    assert result.exit_code == 1
    assert "学年“2025”格式不正确" in result.output
    assert table_counts(database)["person"] == 0


def test_import_workbook_reports_progress(database):
    from bot.roster.importer import import_workbook

    seen = []
    summary = import_workbook(
        database, EXAMPLE, year=None, today=date(2025, 10, 1), progress=seen.append
    )
    assert summary.year == "2025-2026" and summary.sheets["students"].added == 12
    assert sum(seen) >= 12
