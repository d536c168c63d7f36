"""A later file updates names, units, userids and assignments without losing records."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    Person,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
    RoleGrant,
    Unit,
)
from tests.roster.helpers import do_import, row_of

WHEN = datetime(2025, 10, 9, 11, 0, tzinfo=UTC)


def _number(session, number: str) -> Person:
    return session.scalars(sa.select(Person).where(Person.number == number)).one()


def _add_contact(database, mentor_number: str, student_number: str) -> int:
    with database.session() as session:
        year = session.scalars(sa.select(AcademicYear)).one()
        record = Record(
            year_id=year.id,
            mentor_id=_number(session, mentor_number).id,
            kind=RecordKind.CONTACT,
            occurred_at=WHEN,
            created_at=WHEN,
            updated_at=WHEN,
        )
        record.participants = [RecordParticipant(student_id=_number(session, student_number).id)]
        session.add(record)
        session.flush()
        return record.id


def test_update_changes_names_units_userids_and_assignments_keeping_records(database, records):
    do_import(database, records)
    record_id = _add_contact(database, "20200001", "2022010001")  # 许桂蕾 and 武雨瑶
    with database.session() as session:
        moved_link = session.scalars(
            sa.select(MentorStudent).where(
                MentorStudent.student_id == _number(session, "2022010002").id
            )
        ).one()
        original_person_ids = dict(session.execute(sa.select(Person.number, Person.id)).all())

    # the later file
    records["students"][row_of(records, "students", number="2024010001") - 2]["name"] = "张叁"
    records["mentors"][row_of(records, "mentors", number="19980001") - 2]["unit"] = "DE"
    records["units"][row_of(records, "units", code="LIB") - 2]["name"] = "图书与档案馆"
    # two people swap userids
    a = row_of(records, "counsellors", number="20200006")
    b = row_of(records, "counsellors", number="20200007")
    records["counsellors"][a - 2]["userid"], records["counsellors"][b - 2]["userid"] = (
        records["counsellors"][b - 2]["userid"],
        records["counsellors"][a - 2]["userid"],
    )
    # a student moves from 许桂蕾 to 王建国 (same college)
    records["assignments"][row_of(records, "assignments", student="2022010002") - 2]["mentor"] = (
        "19980001"
    )
    # 许桂蕾 (who has a record) and the student 武雨瑶 leave the roster
    records["mentors"] = [m for m in records["mentors"] if m["number"] != "20200001"]
    records["students"] = [s for s in records["students"] if s["number"] != "2022010001"]
    records["assignments"] = [
        a
        for a in records["assignments"]
        if a["mentor"] != "20200001" and a["student"] != "2022010001"
    ]
    records["assignments"].append({"mentor": "19980001", "college": "CS", "student": "2025010001"})

    summary = do_import(database, records)
    assert summary.deactivated == 2
    assert summary.sheets["students"].updated == 1
    assert summary.sheets["mentors"].updated == 1  # 王建国's unit
    assert summary.sheets["counsellors"].updated == 2
    assert summary.sheets["units"].updated == 1
    assert summary.sheets["assignments"].updated == 2  # two students moved to 王建国
    assert summary.links_removed == 1  # 武雨瑶
    assert summary.assignments_removed == 0 and summary.assignments_kept == 1
    assert summary.roles_removed == 0

    with database.session() as session:
        assert _number(session, "2024010001").name == "张叁"
        assert _number(session, "19980001").unit.code == "DE"
        assert (
            session.scalars(sa.select(Unit.name).where(Unit.code == "LIB")).one() == "图书与档案馆"
        )
        assert _number(session, "20200006").userid == "tangming"
        assert _number(session, "20200007").userid == "sunlingxue"
        # same rows, same ids: nobody deleted, records intact
        assert dict(session.execute(sa.select(Person.number, Person.id)).all()) == (
            original_person_ids
        )
        gone_mentor = _number(session, "20200001")
        gone_student = _number(session, "2022010001")
        assert not gone_mentor.active and not gone_student.active
        assert _number(session, "19980001").active
        record = session.get(Record, record_id)
        assert record is not None and record.participants[0].student_id == gone_student.id
        # the moved student's row moved (same id, new assignment)
        link = session.get(MentorStudent, moved_link.id)
        assert link.assignment.mentor.number == "19980001"
        wang_students = session.scalars(
            sa.select(Person.number)
            .join(MentorStudent, MentorStudent.student_id == Person.id)
            .join(MentorAssignment, MentorAssignment.id == MentorStudent.assignment_id)
            .where(MentorAssignment.mentor_id == _number(session, "19980001").id)
        ).all()
        assert sorted(wang_students) == [
            "2022010002",
            "2023010001",
            "2023010002",
            "2024010001",
            "2025010001",
        ]
        # the departed mentor keeps the (now empty) assignment because of the record
        kept = session.scalars(
            sa.select(MentorAssignment).where(MentorAssignment.mentor_id == gone_mentor.id)
        ).one()
        assert kept.students == []

    assert do_import(database, records).changes == 0


def test_roles_follow_the_file(database, records):
    do_import(database, records)
    records["admins"] = [a for a in records["admins"] if a["userid"] != "zhaolaoshi"]
    records["admins"].append(
        {
            "number": "19980001",
            "name": "王建国",
            "userid": "wanglaoshi",
            "role": "学院管理员",
            "unit": "ICE",
        }
    )
    summary = do_import(database, records)
    assert (summary.roles_added, summary.roles_removed) == (1, 1)
    assert summary.sheets["mentors"].updated == 2  # 王建国 gained a role, 赵敏 lost one
    with database.session() as session:
        zhao = _number(session, "20100003")
        assert {g.role for g in zhao.roles} == {Role.MENTOR}
        wang = _number(session, "19980001")
        assert {g.role for g in wang.roles} == {Role.MENTOR, Role.COLLEGE_ADMIN}


def test_a_mentor_unassigned_without_records_loses_the_assignment(database, records):
    do_import(database, records)
    records["assignments"] = [a for a in records["assignments"] if a["mentor"] != "20030002"]
    summary = do_import(database, records)
    assert summary.assignments_removed == 1 and summary.links_removed == 3
    with database.session() as session:
        liu = _number(session, "20030002")
        assert liu.active  # still on the roster as a mentor
        assert (
            session.scalars(
                sa.select(MentorAssignment).where(MentorAssignment.mentor_id == liu.id)
            ).all()
            == []
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(RoleGrant)) > 0


def test_an_empty_assignment_sheet_leaves_assignments_alone(database, records):
    do_import(database, records)
    records["assignments"] = []
    summary = do_import(database, records)
    assert summary.assignments_untouched and summary.changes == 0
    assert "分配表为空" in str(summary)
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MentorStudent)) == 12


def test_a_returning_person_is_reactivated(database, records):
    do_import(database, records)
    full = [dict(s) for s in records["students"]]
    records["students"] = [s for s in full if s["number"] != "2025010001"]
    records["assignments"] = [a for a in records["assignments"] if a["student"] != "2025010001"]
    assert do_import(database, records).deactivated == 1
    records["students"] = full
    summary = do_import(database, records)
    assert summary.sheets["students"].updated == 1
    with database.session() as session:
        assert _number(session, "2025010001").active
