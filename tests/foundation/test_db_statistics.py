"""The nightly ``database_statistics`` job: SQLite's planner learns the table sizes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from bot.core import migrate
from bot.core.db import Database, refresh_statistics
from bot.core.models import AcademicYear, Person, PersonKind, Record

NOW = datetime(2026, 9, 1, 19, 53, tzinfo=UTC)


def _plan(database: Database, query: sa.Select) -> str:
    compiled = query.compile(database.engine, compile_kwargs={"literal_binds": True})
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return " | ".join(row[-1] for row in rows)


def test_after_the_job_sqlite_reads_a_year_that_is_the_whole_table_straight_through(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    migrate.upgrade(database.engine)
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        mentor = Person(userid="wang", number="T1", name="王老师", kind=PersonKind.STAFF)
        session.add_all([year, mentor])
        session.flush()
        session.execute(
            sa.insert(Record),
            [
                {
                    "year_id": year.id,
                    "mentor_id": mentor.id,
                    "kind": "contact",
                    "title": "",
                    "occurred_at": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for _ in range(500)
            ],
        )
        year_id = year.id
    the_year = sa.select(Record.mentor_id, Record.kind).where(
        Record.year_id == year_id, Record.deleted_at.is_(None)
    )
    assert "USING INDEX ix_record_year_id" in _plan(database, the_year)

    assert refresh_statistics(database, NOW) == 0  # it adds no message

    assert _plan(database, the_year) == "SCAN record"
    database.dispose()
