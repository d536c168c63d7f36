"""Scheduler benchmark: plan the weekly contact check for 2,000 mentors and 40,000 students.

Builds the university with bulk inserts in a fresh SQLite file (and, when ``DATABASE_URL`` is
a PostgreSQL URL, in a fresh schema there, dropped afterwards): the 2025-2026 calendar, 20
colleges, 2,000 mentors with 20 students each and about 3,000 contacts in the week; then runs
the Friday check twice (the second run must add nothing).

    .venv/bin/python benchmarks/bench_scheduler.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/bench_scheduler.py

Target (issue 7): planning the weekly check in under 5 s.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.calendar import Rules  # noqa: E402
from bot.core import migrate  # noqa: E402
from bot.core.db import Database, scratch_schema  # noqa: E402
from bot.core.models import (  # noqa: E402
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    OutboxMessage,
    Person,
    Record,
    RecordKind,
    RoleGrant,
    Semester,
    TeachingWeek,
    Unit,
)
from bot.records.reminders import weekly_contact_check  # noqa: E402
from bot.roster.calendar import standard_calendar, teaching_weeks  # noqa: E402

TARGET_SECONDS = 5.0
MENTORS = 2000
STUDENTS = 40000
COLLEGES = 20
SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2025, 11, 21, 16, 7, tzinfo=SHANGHAI)


def postgres_schema(base_url: str) -> AbstractContextManager[str]:
    return scratch_schema(base_url, f"bench_scheduler_{uuid.uuid4().hex[:8]}")


def build(database: Database) -> int:
    """The university by bulk inserts; returns how many contacts the week holds."""
    rng = random.Random(7)
    now = datetime(2025, 9, 1, tzinfo=UTC)
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        session.add(year)
        session.flush()
        for plan in standard_calendar("2025-2026"):
            semester = Semester(
                year_id=year.id, number=plan.number, starts_on=plan.starts_on, ends_on=plan.ends_on
            )
            semester.teaching_weeks = [
                TeachingWeek(number=w.number, starts_on=w.starts_on, ends_on=w.ends_on)
                for w in teaching_weeks(plan.starts_on, plan.ends_on, set(plan.holidays))
            ]
            session.add(semester)
        session.execute(
            sa.insert(Unit),
            [
                {"code": f"C{n:02d}", "name": f"第{n}学院", "kind": "college"}
                for n in range(COLLEGES)
            ],
        )
        colleges = list(session.scalars(sa.select(Unit.id).order_by(Unit.id)))
        people = [
            {"userid": f"m{n}", "number": f"T{n:06d}", "name": f"导师{n}", "kind": "staff"}
            for n in range(MENTORS)
        ] + [
            {"userid": f"s{n}", "number": f"S{n:08d}", "name": f"学生{n}", "kind": "student"}
            for n in range(STUDENTS)
        ]
        session.execute(sa.insert(Person), people)
        ids = dict(session.execute(sa.select(Person.userid, Person.id)).all())
        mentor_ids = [ids[f"m{n}"] for n in range(MENTORS)]
        session.execute(
            sa.insert(RoleGrant), [{"person_id": pid, "role": "mentor"} for pid in mentor_ids]
        )
        session.execute(
            sa.insert(MentorAssignment),
            [
                {"year_id": year.id, "mentor_id": pid, "college_id": colleges[n % COLLEGES]}
                for n, pid in enumerate(mentor_ids)
            ],
        )
        assignment = dict(
            session.execute(sa.select(MentorAssignment.mentor_id, MentorAssignment.id)).all()
        )
        per = STUDENTS // MENTORS
        session.execute(
            sa.insert(MentorStudent),
            [
                {
                    "assignment_id": assignment[mentor_ids[n // per]],
                    "year_id": year.id,
                    "student_id": ids[f"s{n}"],
                }
                for n in range(STUDENTS)
            ],
        )
        monday = FRIDAY.date() - timedelta(days=FRIDAY.weekday())
        contacts = []
        for pid in mentor_ids:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                at = datetime.combine(monday, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
                    hours=rng.randrange(9, 9 + 24 * 4)
                )
                contacts.append(
                    {
                        "year_id": year.id,
                        "mentor_id": pid,
                        "kind": RecordKind.CONTACT.value,
                        "title": "个别交流",
                        "occurred_at": at,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(sa.insert(Record), contacts)
        return len(contacts)


def run(label: str, url: str) -> float:
    database = Database(url)
    try:
        migrate.upgrade(database.engine)
        started = time.perf_counter()
        contacts = build(database)
        print(f"{label:>10} build: {time.perf_counter() - started:5.1f} s, {contacts} contacts")
        rules = Rules(zone=SHANGHAI)
        figures = []
        for attempt in ("first", "again"):
            started = time.perf_counter()
            added = weekly_contact_check(database, FRIDAY, rules=rules)
            elapsed = time.perf_counter() - started
            figures.append(elapsed)
            print(f"{label:>10} {attempt:>5}: {elapsed:5.2f} s, {added} reminders queued")
            if attempt == "again" and added:
                raise SystemExit(f"{label}: the second run queued {added} reminders")
        with database.session() as session:
            rows = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
            calls = session.scalar(
                sa.select(sa.func.count(sa.distinct(OutboxMessage.payload_hash)))
            )
        print(f"{label:>10} outbox: {rows} rows, {calls} distinct payloads")
        return figures[0]
    finally:
        database.dispose()


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = run("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
    base_url = os.environ.get("DATABASE_URL", "")
    if base_url.startswith("postgresql"):
        with postgres_schema(base_url) as url:
            results["postgresql"] = run("postgresql", url)
    slow = {label: figure for label, figure in results.items() if figure >= TARGET_SECONDS}
    if slow:
        raise SystemExit(f"weekly check slower than {TARGET_SECONDS} s: {slow}")
    print(f"OK: weekly check under {TARGET_SECONDS} s ({MENTORS} mentors, {STUDENTS} students)")


if __name__ == "__main__":
    main()
