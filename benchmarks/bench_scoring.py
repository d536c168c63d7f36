"""Scoring benchmark (issue 6): a script that prints its figures, not a timed test.

1. Results: 2,000 mentors in 20 colleges, every item scored, 500,000 ratings over
   ~50,000 activities; timed for the engine alone (``evaluate``) and for the whole
   command-line path in process (JSON text → parse and check → evaluate → JSON text),
   then once through ``python -m scoring evaluate FILE`` as the office runs it.
   Target: under 2 s.
2. Evidence: 2,000,000 in-memory record facts for the same 2,000 mentors folded into
   per-item figures and suggestions (``evidence_figures``); beside it, as the floor, one
   hand-written GROUP BY over the same rows in an in-memory SQLite database (stdlib
   sqlite3), and the ratio.

    .venv/bin/python benchmarks/bench_scoring.py [--mentors 2000] [--ratings 500000]
                                                 [--records 2000000] [--no-sql]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.engine import MentorInput, evaluate  # noqa: E402
from scoring.evidence import (  # noqa: E402
    Calendar,
    DateRange,
    RecordFact,
    RecordKind,
    Semester,
    evidence_figures,
)
from scoring.jsonio import dumps, parse_input  # noqa: E402
from scoring.rubric import Rubric, load_rubric  # noqa: E402

RESULTS_TARGET = 2.0
EVIDENCE_TARGET = 5.0
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<52} {elapsed:7.3f} s")
    return result, elapsed


# --- results -------------------------------------------------------------------------------


def make_input(mentors: int, ratings: int, rubric: Rubric, rnd: random.Random) -> dict[str, Any]:
    per_mentor = ratings // mentors
    people = []
    for n in range(mentors):
        scores = {
            item.id: float(Decimal(rnd.randint(int(item.max * 5), int(item.max * 10))) / 10)
            for item in rubric.scored_items
        }
        activities: list[list[int]] = []
        left = per_mentor + (1 if n < ratings % mentors else 0)
        while left:
            size = min(left, rnd.randint(3, 17))
            activities.append(rnd.choices((5, 4, 3, 2, 1), (50, 30, 12, 5, 3), k=size))
            left -= size
        people.append(
            {
                "id": f"T{n:05d}",
                "college": f"学院{n % 20:02d}",
                "item_scores": scores,
                "bonus": ["E1"] if n % 7 == 0 else [],
                "activity_ratings": activities,
            }
        )
    return {"mentors": people}


def bench_results(args: argparse.Namespace, rubric: Rubric) -> float:
    rnd = random.Random(6)
    data = make_input(args.mentors, args.ratings, rubric, rnd)
    text = json.dumps(data, ensure_ascii=False)
    total_ratings = sum(len(a) for m in data["mentors"] for a in m["activity_ratings"])
    activities = sum(len(m["activity_ratings"]) for m in data["mentors"])
    print(
        f"results: {len(data['mentors']):,} mentors, {activities:,} activities, "
        f"{total_ratings:,} ratings, input {len(text) / 1e6:.1f} MB"
    )
    mentors = parse_input(text, rubric)
    assert all(isinstance(m, MentorInput) for m in mentors)
    evaluate(mentors, rubric)  # warm up
    result, _engine = timed("engine: evaluate()", lambda: evaluate(mentors, rubric))
    assert all(m.status == "complete" for m in result.mentors)

    def whole() -> str:
        return dumps(evaluate(parse_input(text, rubric), rubric))

    output, path = timed("CLI path in process: parse + check + evaluate + JSON", whole)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "year.json"
        file.write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "scoring", "evaluate", str(file)]
        done, _process = timed(
            "python -m scoring evaluate FILE (with start-up)",
            lambda: subprocess.run(command, capture_output=True, check=True, cwd=ROOT),
        )
    assert json.loads(done.stdout) == json.loads(output)
    outstanding = sum(len(c.outstanding) for c in result.colleges)
    print(f"  {len(result.colleges)} colleges, {outstanding} outstanding mentors")
    verdict = "OK" if path < RESULTS_TARGET else "OVER"
    print(f"  target < {RESULTS_TARGET:.0f} s for the CLI path: {verdict}")
    return path


# --- evidence ------------------------------------------------------------------------------


def week(monday: date) -> DateRange:
    return DateRange(monday, monday + timedelta(days=4))


def calendar() -> Calendar:
    autumn = [date(2025, 9, 8) + timedelta(weeks=w) for w in range(18) if w != 3]
    spring = [date(2026, 3, 2) + timedelta(weeks=w) for w in range(17) if w != 9]
    return Calendar.for_year(
        2025,
        [
            Semester("2025秋", date(2025, 9, 1), date(2026, 1, 16), tuple(map(week, autumn))),
            Semester("2026春", date(2026, 2, 23), date(2026, 7, 3), tuple(map(week, spring))),
        ],
    )


KIND_MIX: list[tuple[RecordKind, str | None, int]] = [
    (RecordKind.CONTACT, None, 60),
    (RecordKind.GROUP_ACTIVITY, "茶话会", 8),
    (RecordKind.GROUP_ACTIVITY, "学术讲座", 3),
    (RecordKind.GROUP_ACTIVITY, "读书沙龙", 3),
    (RecordKind.GROUP_ACTIVITY, "书院项目", 2),
    (RecordKind.COUNSELLOR_TALK, None, 2),
    (RecordKind.LEADER_TALK, None, 2),
    (RecordKind.SEMESTER_PLAN, None, 1),
    (RecordKind.MONTHLY_PLAN, None, 3),
    (RecordKind.MONTHLY_SUMMARY, None, 3),
    (RecordKind.PUBLICITY, None, 5),
    (RecordKind.CARE, None, 4),
    (RecordKind.ACADEMY_BOOKING, None, 3),
    (RecordKind.EXTERNAL_RESOURCE, None, 1),
]


def make_records(count: int, mentors: int, rnd: random.Random) -> list[RecordFact]:
    days = [date(2025, 9, 1) + timedelta(days=d) for d in range(365)]
    ids = [f"T{n:05d}" for n in range(mentors)]
    kinds = [(kind, activity) for kind, activity, _ in KIND_MIX]
    weights = [weight for _, _, weight in KIND_MIX]
    chosen = rnd.choices(kinds, weights, k=count)
    mentor_of = rnd.choices(ids, k=count)
    day_of = rnd.choices(days, k=count)
    return [
        RecordFact(mentor, kind.value, day, activity)
        for mentor, (kind, activity), day in zip(mentor_of, chosen, day_of, strict=True)
    ]


def sql_floor(records: list[RecordFact]) -> float:
    """One GROUP BY over the same rows: per mentor, kind and ISO week (the floor)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE record (mentor_id TEXT, kind TEXT, occurred_on TEXT)")
    connection.executemany(
        "INSERT INTO record VALUES (?, ?, ?)",
        ((r.mentor_id, r.kind, r.occurred_on.isoformat()) for r in records),
    )
    connection.commit()
    query = (
        "SELECT mentor_id, kind, strftime('%Y-%W', occurred_on) AS period, count(*) "
        "FROM record GROUP BY mentor_id, kind, period"
    )
    rows, elapsed = timed(
        "floor: SQLite GROUP BY mentor, kind, week", lambda: list(connection.execute(query))
    )
    print(f"  ({len(rows):,} groups)")
    connection.close()
    return elapsed


def bench_evidence(args: argparse.Namespace, rubric: Rubric) -> None:
    rnd = random.Random(66)
    records, _ = timed(
        "generate record facts (not part of the figure)",
        lambda: make_records(args.records, args.mentors, rnd),
    )
    print(f"evidence: {len(records):,} record facts for {args.mentors:,} mentors")
    year = calendar()
    figures, elapsed = timed(
        "evidence_figures(): one pass + figures", lambda: evidence_figures(records, year, rubric)
    )
    sample = figures["T00000"].item("M1")
    print(f"  e.g. T00000 M1: {sample.requirements[0].summary}; 建议 {sample.suggested}")
    verdict = "OK" if elapsed < EVIDENCE_TARGET else "OVER"
    print(f"  target < {EVIDENCE_TARGET:.0f} s: {verdict}")
    if not args.no_sql:
        floor = sql_floor(records)
        print(f"  ratio evidence_figures / SQL floor: {elapsed / floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=2000)
    parser.add_argument("--ratings", type=int, default=500_000)
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--no-sql", action="store_true", help="skip the SQLite floor")
    args = parser.parse_args()
    rubric = load_rubric()
    bench_results(args, rubric)
    print()
    bench_evidence(args, rubric)


if __name__ == "__main__":
    main()
