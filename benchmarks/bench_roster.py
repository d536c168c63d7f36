"""Roster import benchmark: 40,000 students and 2,000 mentors.

Generates the workbook (``roster generate``), imports it into a fresh SQLite file and, when
``DATABASE_URL`` is a PostgreSQL URL, into a fresh schema there (dropped afterwards); then
imports the same file again (the idempotent pass, which must change nothing).

    .venv/bin/python benchmarks/bench_roster.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/bench_roster.py

Target (issue 2): the first import under 30 s on SQLite; report the PostgreSQL figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import migrate  # noqa: E402
from bot.core.db import Database, scratch_schema  # noqa: E402
from bot.roster.generate import generate_roster  # noqa: E402
from bot.roster.importer import import_roster  # noqa: E402
from bot.roster.workbook import read_workbook, write_workbook  # noqa: E402

TARGET_SECONDS = 30.0


def postgres_schema(base_url: str) -> AbstractContextManager[str]:
    return scratch_schema(base_url, f"bench_roster_{uuid.uuid4().hex[:8]}")


def run(label: str, url: str, workbook: Path) -> dict[str, float]:
    database = Database(url)
    try:
        migrate.upgrade(database.engine)
        figures: dict[str, float] = {}
        for attempt in ("first", "again"):
            started = time.perf_counter()
            raw = read_workbook(workbook)
            read = time.perf_counter() - started
            with database.session() as session:
                summary = import_roster(session, raw, year="2025-2026", today=date.today())
            total = time.perf_counter() - started
            figures[attempt] = total
            print(
                f"{label:>10} {attempt:>5}: {total:6.1f} s "
                f"(read {read:4.1f} s, validate + write {total - read:4.1f} s), "
                f"{summary.changes} changes"
            )
            if attempt == "again" and summary.changes:
                raise SystemExit(f"{label}: the second import changed {summary.changes} things")
        return figures
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workbook = Path(tmp) / "roster.xlsx"
        started = time.perf_counter()
        rows = generate_roster(students=args.students, mentors=args.mentors, seed=args.seed)
        write_workbook(workbook, rows)
        print(
            f"generated {args.students} students, {args.mentors} mentors, "
            f"{len(rows['units'])} units ({workbook.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        sqlite = run("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", workbook)
        base_url = os.environ.get("DATABASE_URL", "")
        if base_url.startswith("postgresql"):
            with postgres_schema(base_url) as url:
                run("PostgreSQL", url, workbook)
    verdict = "meets" if sqlite["first"] < TARGET_SECONDS else "MISSES"
    print(
        f"SQLite first import {sqlite['first']:.1f} s {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    if sqlite["first"] >= TARGET_SECONDS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
