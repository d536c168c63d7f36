"""The demo university: promised counts, plausible records, idempotent and incremental."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    Person,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
    RoleGrant,
    Unit,
    UnitKind,
)
from bot.devtools.demo_data import seed_demo
from scoring import load_rubric
from tests.roster.helpers import empty_tables, table_counts

RUBRIC = load_rubric()

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_YEAR = datetime(2026, 8, 31, 12, 0, tzinfo=SHANGHAI)


def _holders(session, role: Role) -> set[str]:
    return set(
        session.scalars(
            sa.select(Person.userid)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(RoleGrant.role == role)
        )
    )


def test_demo_seed_counts_and_is_idempotent(app, database):
    with app.app_context():
        summary = seed_demo(database, now=END_OF_YEAR)
    assert (summary.colleges, summary.mentors, summary.students) == (3, 20, 300)
    assert summary.records == summary.records_added > 1000
    assert summary.ratings == summary.ratings_added > 100
    assert "3 个学院、20 位导师、300 名学生" in str(summary)
    counts = table_counts(database)

    with database.session() as session:
        kinds = Counter(u.kind for u in session.scalars(sa.select(Unit)))
        assert kinds[UnitKind.COLLEGE] == 3 and kinds[UnitKind.ACADEMY] == 1
        assert kinds[UnitKind.OTHER] >= 2
        assert len(_holders(session, Role.MENTOR)) == 20
        assert len(_holders(session, Role.STUDENT)) == 300
        assert len(_holders(session, Role.COUNSELLOR)) >= 3
        assert {"cs_admin", "ice_admin", "de_admin", "zhaolaoshi"} <= _holders(
            session, Role.COLLEGE_ADMIN
        )
        assert {"cs_dean", "ice_dean", "de_dean"} <= _holders(session, Role.COLLEGE_HEAD)
        assert "shuyuan_admin" in _holders(session, Role.ACADEMY_ADMIN)
        assert _holders(session, Role.SYSTEM_ADMIN) == {"sysadmin"}
        for userid in ("wanglaoshi", "zhangsan", "lisi", "chenjing", "liulaoshi"):
            assert session.scalars(sa.select(Person).where(Person.userid == userid)).one()

        assignments = session.scalars(sa.select(MentorAssignment)).all()
        assert len(assignments) == 20
        for assignment in assignments:
            assert len(assignment.students) == 15
            assert assignment.college_id != assignment.mentor.unit_id
            assert all(
                link.student.unit_id == assignment.college_id for link in assignment.students
            )
        zhangsan = session.scalars(sa.select(Person).where(Person.userid == "zhangsan")).one()
        link = session.scalars(
            sa.select(MentorStudent).where(MentorStudent.student_id == zhangsan.id)
        ).one()
        assert link.assignment.mentor.userid == "wanglaoshi"

        records = session.scalars(sa.select(Record)).all()
        by_kind = Counter(r.kind for r in records)
        for kind in RecordKind:
            assert by_kind[kind] > 0, kind
        for record in records:
            assert record.occurred_at <= END_OF_YEAR and record.created_at <= END_OF_YEAR
            if record.kind != RecordKind.MONTHLY_GUIDANCE:  # what students rate: no evidence
                assert RUBRIC.items_for(record.kind, record.activity_type, record.online)
        activities = [r for r in records if r.kind == RecordKind.GROUP_ACTIVITY]
        per_semester = Counter(
            (r.mentor_id, r.occurred_at.month in (9, 10, 11, 12, 1)) for r in activities
        )
        assert set(per_semester.values()) <= {2, 3}
        assert all(r.activity_type for r in activities)
        cares = [r for r in records if r.kind == RecordKind.CARE]
        assert all(r.note is None and r.sensitive_note is None for r in cares)
        levels = Counter(session.scalars(sa.select(Rating.level)))
        rated = sum(n for level, n in levels.items() if level is not None)
        assert (levels[4] + levels[5]) / rated > 0.7
        # only participants rate
        outsiders = session.scalar(
            sa.select(sa.func.count())
            .select_from(Rating)
            .outerjoin(
                RecordParticipant,
                sa.and_(
                    RecordParticipant.record_id == Rating.record_id,
                    RecordParticipant.student_id == Rating.student_id,
                ),
            )
            .where(RecordParticipant.id.is_(None))
        )
        assert outsiders == 0

    with app.app_context():
        again = seed_demo(database, now=END_OF_YEAR)
    assert again.records_added == again.ratings_added == again.participants_added == 0
    assert again.roster.changes == 0
    assert table_counts(database) == counts


def test_demo_seed_grows_with_now_and_is_deterministic(app, database):
    zone = SHANGHAI
    early = datetime(2025, 11, 1, tzinfo=zone)
    first = seed_demo(database, now=early, zone=zone)
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.max(Record.created_at))) <= early
    second = seed_demo(database, now=END_OF_YEAR, zone=zone)
    assert 0 < first.records < second.records
    with database.engine.connect() as connection:
        grown = connection.execute(
            sa.select(Record.kind, Record.title, Record.occurred_at).order_by(Record.occurred_at)
        ).all()

    # seeding in one go gives the same year
    empty_tables(database)
    seed_demo(database, now=END_OF_YEAR, zone=zone)
    with database.engine.connect() as connection:
        at_once = connection.execute(
            sa.select(Record.kind, Record.title, Record.occurred_at).order_by(Record.occurred_at)
        ).all()
    assert sorted(grown) == sorted(at_once)


def test_demo_seed_command(runner, database):
    result = runner.invoke(args=["demo", "seed", "--now", "2025-12-01T08:00"])
    assert result.exit_code == 0, result.output
    assert "演示数据已就绪：3 个学院、20 位导师、300 名学生" in result.output
    result = runner.invoke(args=["demo", "seed", "--now", "yesterday"])
    assert result.exit_code != 0 and "ISO" in result.output


def test_demo_seed_defaults_to_the_current_year_like_make_demo(runner, database):
    """`flask --app bot demo seed` seeded 2025-2026 while `make demo` seeded the current year."""
    result = runner.invoke(args=["demo", "seed", "--now", "2026-12-07T10:00"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2026-2027 学年演示数据已就绪")
    with database.session() as session:
        assert session.scalars(sa.select(AcademicYear.code)).all() == ["2026-2027"]
