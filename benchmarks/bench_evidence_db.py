"""Evidence figures from the database (issue 6): 2,000 mentors, 2,000,000 stored records.

The path the cycle uses (``bot.cycle.evidence.figures``: one query streamed in batches, folded
by ``scoring.evidence_figures``) timed on SQLite and, when ``DATABASE_URL`` names PostgreSQL,
on PostgreSQL too; beside it the floor: one hand-written GROUP BY over the same table (per
mentor, kind and week), and the ratio. Target: under 5 s on each back end. Loading the rows is
not part of the figure (SQLite: batched INSERTs; PostgreSQL: COPY; then the planner's
statistics, as the nightly ``database_statistics`` job and PostgreSQL's autovacuum keep them).

    .venv/bin/python benchmarks/bench_evidence_db.py [--mentors 2000] [--records 2000000]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_evidence_db.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_scoring import calendar, make_records  # noqa: E402

from bot.core import migrate  # noqa: E402
from bot.core.db import Database, refresh_statistics, scratch_schema  # noqa: E402
from bot.core.models import AcademicYear, Person, PersonKind, Record, Semester, TeachingWeek  # noqa: E402
from bot.cycle.evidence import figures  # noqa: E402
from scoring.rubric import load_rubric  # noqa: E402

TARGET = 5.0
ZONE = ZoneInfo("Asia/Shanghai")
CHUNK = 20_000
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<56} {elapsed:7.3f} s")
    return result, elapsed


def seed_people_and_year(database: Database, mentors: int) -> tuple[int, dict[str, int]]:
    """The year of bench_scoring's calendar (its semesters and teaching weeks), the mentors."""
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        for number, semester in enumerate(calendar().semesters, start=1):
            year.semesters.append(
                Semester(
                    number=number,
                    starts_on=semester.start,
                    ends_on=semester.end,
                    teaching_weeks=[
                        TeachingWeek(number=n, starts_on=w.start, ends_on=w.end)
                        for n, w in enumerate(semester.teaching_weeks, start=1)
                    ],
                )
            )
        session.add(year)
        session.execute(
            sa.insert(Person),
            [
                {
                    "userid": f"T{n:05d}",
                    "number": f"T{n:05d}",
                    "name": f"导师{n}",
                    "kind": PersonKind.STAFF,
                    "active": True,
                }
                for n in range(mentors)
            ],
        )
        session.flush()
        ids = {userid: pid for userid, pid in session.execute(sa.select(Person.userid, Person.id))}
        return year.id, ids


def record_rows(count: int, mentors: int, year_id: int, ids: dict[str, int]) -> Iterator[tuple]:
    stamp = datetime(2026, 8, 31, tzinfo=UTC)
    for fact in make_records(count, mentors, random.Random(66)):
        moment = datetime.combine(fact.occurred_on, clock(10, 0), tzinfo=ZONE).astimezone(UTC)
        yield (year_id, ids[fact.mentor_id], fact.kind, fact.activity, moment, stamp)


def load_sqlite(database: Database, rows: Iterator[tuple]) -> None:
    table = Record.__table__
    batch: list[dict] = []
    with database.engine.begin() as connection:
        for year_id, mentor_id, kind, activity, moment, stamp in rows:
            batch.append(
                {
                    "year_id": year_id,
                    "mentor_id": mentor_id,
                    "kind": kind,
                    "activity_type": activity,
                    "title": "",
                    "occurred_at": moment,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            if len(batch) == CHUNK:
                connection.execute(sa.insert(table), batch)
                batch.clear()
        if batch:
            connection.execute(sa.insert(table), batch)
    # the planner's statistics, as the nightly database_statistics job keeps them (PostgreSQL:
    # ANALYZE after the COPY, as its autovacuum would)
    refresh_statistics(database, datetime.now(UTC))


def load_postgresql(database: Database, rows: Iterator[tuple]) -> None:
    raw = database.engine.raw_connection()
    try:
        statement = (  # a constant; the rows travel as data
            "COPY record (year_id, mentor_id, kind, activity_type, title, occurred_at, created_at,"
            " updated_at) FROM STDIN"
        )
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for year_id, mentor_id, kind, activity, moment, stamp in rows:
                copy.write_row((year_id, mentor_id, kind, activity, "", moment, stamp, stamp))
        raw.commit()
        with raw.cursor() as cursor:
            cursor.execute("ANALYZE record")
        raw.commit()
    finally:
        raw.close()


def floor(database: Database, year_id: int) -> tuple[int, float]:
    """One GROUP BY over the same rows: per mentor, kind and week."""
    if database.engine.dialect.name == "postgresql":
        week = sa.func.date_trunc("week", Record.occurred_at)
    else:
        week = sa.func.strftime("%Y-%W", Record.occurred_at)
    query = (
        sa.select(Record.mentor_id, Record.kind, week.label("week"), sa.func.count())
        .where(Record.year_id == year_id, Record.deleted_at.is_(None))
        .group_by(Record.mentor_id, Record.kind, week)
    )
    with database.engine.connect() as connection:
        rows, elapsed = timed(
            "floor: GROUP BY mentor, kind, week", lambda: connection.execute(query).all()
        )
    return len(rows), elapsed


def bench(url: str, args: argparse.Namespace) -> None:
    database = Database(url)
    migrate.upgrade(database.engine)
    backend = database.engine.dialect.name
    print(f"{backend}: {args.records:,} records for {args.mentors:,} mentors")
    year_id, ids = seed_people_and_year(database, args.mentors)
    rows = record_rows(args.records, args.mentors, year_id, ids)
    loader = load_postgresql if backend == "postgresql" else load_sqlite
    timed("load the records (not part of the figure)", lambda: loader(database, rows))
    rubric = load_rubric()
    with database.session() as session:
        year = session.get(AcademicYear, year_id)
        mentor_ids = list(ids.values())
        result, elapsed = timed(
            "figures(): stream the year's records + evidence_figures",
            lambda: figures(session, year, rubric, ZONE, mentor_ids),
        )
    sample = result[ids["T00000"]].item("M1")
    print(f"  e.g. T00000 M1: {sample.requirements[0].summary}; 建议 {sample.suggested}")
    print(f"  target < {TARGET:.0f} s: {'OK' if elapsed < TARGET else 'OVER'}")
    groups, sql = floor(database, year_id)
    print(f"  ({groups:,} groups) ratio figures / GROUP BY floor: {elapsed / sql:.2f}")
    database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=2000)
    parser.add_argument("--records", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        bench(f"sqlite:///{Path(workdir) / 'evidence.sqlite3'}", args)
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        print()
        with ExitStack() as stack:
            bench(stack.enter_context(scratch_schema(base, f"bench_evidence_{os.getpid()}")), args)


if __name__ == "__main__":
    main()
