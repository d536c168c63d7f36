from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.core import migrate
from bot.core.models import (
    AcademicYear,
    Person,
    PersonKind,
    Rating,
    Record,
    RecordKind,
)


def test_migrations_are_current(database):
    assert migrate.is_current(database.engine)


def test_models_match_migrations(database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.core.models import Base

    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def _year_and_people(session):
    year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
    mentor = Person(userid="T001", number="T001", name="王老师", kind=PersonKind.STAFF)
    student = Person(userid="S001", number="S001", name="张三", kind=PersonKind.STUDENT)
    session.add_all([year, mentor, student])
    session.flush()
    return year, mentor, student


def test_timestamps_come_back_aware_and_equal(database):
    shanghai = timezone(timedelta(hours=8))
    when = datetime(2025, 11, 20, 19, 0, tzinfo=shanghai)
    with database.session() as session:
        year, mentor, _ = _year_and_people(session)
        session.add(
            Record(
                year_id=year.id,
                mentor_id=mentor.id,
                kind=RecordKind.CONTACT,
                occurred_at=when,
                created_at=when,
                updated_at=when,
            )
        )
    with database.session() as session:
        record = session.scalars(sa.select(Record)).one()
        assert record.occurred_at == when
        assert record.occurred_at.tzinfo is not None
        assert record.occurred_at.utcoffset() == timedelta(0)
        assert record.activity_type is None


def test_naive_datetime_is_refused(database):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), database.session() as s:
        year, mentor, _ = _year_and_people(s)
        naive = datetime(2025, 11, 20, 19, 0)
        s.add(
            Record(
                year_id=year.id,
                mentor_id=mentor.id,
                kind=RecordKind.CONTACT,
                occurred_at=naive,
                created_at=naive,
                updated_at=naive,
            )
        )


@pytest.mark.parametrize(("level", "attended"), [(0, True), (6, True), (None, True), (3, False)])
def test_rating_level_constraint(database, level, attended):
    now = datetime(2025, 11, 20, tzinfo=UTC)
    with database.session() as session:
        year, mentor, student = _year_and_people(session)
        record = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            occurred_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
        record_id, student_id = record.id, student.id
    with pytest.raises(sa.exc.IntegrityError), database.session() as session:
        session.add(
            Rating(
                record_id=record_id,
                student_id=student_id,
                level=level,
                attended=attended,
                created_at=now,
            )
        )


def test_one_rating_per_student_and_record(database):
    now = datetime(2025, 11, 20, tzinfo=UTC)
    with database.session() as session:
        year, mentor, student = _year_and_people(session)
        record = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            occurred_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
        session.add(Rating(record_id=record.id, student_id=student.id, level=5, created_at=now))
        record_id, student_id = record.id, student.id
    with pytest.raises(sa.exc.IntegrityError), database.session() as session:
        session.add(Rating(record_id=record_id, student_id=student_id, level=4, created_at=now))


def test_scoring_knows_every_record_kind():
    """scoring/ is pure and keeps its own copy of the record kinds: they must not drift."""
    import scoring
    from bot.core.models import RecordKind as BotRecordKind

    assert {kind.value for kind in scoring.RecordKind} == {kind.value for kind in BotRecordKind}
