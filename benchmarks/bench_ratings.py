"""Rating benchmark: queue the cards of a 1,000-participant activity, then 1,000 taps.

    .venv/bin/python benchmarks/bench_ratings.py            # SQLite + in-process Redis
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python benchmarks/bench_ratings.py

Targets (issue 5): the cards queued in under 1 s; 1,000 taps (signed callbacks, each a different
student) offered at 200 taps/s to gunicorn are all stored, with p99 latency under 100 ms.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import migrate  # noqa: E402
from bot.core.db import Database, make_engine, scratch_schema  # noqa: E402
from bot.core.models import (  # noqa: E402
    AcademicYear,
    OutboxMessage,
    Person,
    PersonKind,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.devtools.simulator.callbacks import Envelope  # noqa: E402
from bot.ratings import asking  # noqa: E402
from bot.ratings.rules import RatingPolicy  # noqa: E402
from bot.wecom.crypto import WeComCrypto  # noqa: E402

CORP, AGENT, TOKEN = "wwbench", 1000002, "benchtoken"
AES_KEY = base64.b64encode(b"r" * 32).decode().rstrip("=")


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"bench-ratings-{os.getpid()}:",
        "WECOM_CORP_ID": CORP,
        "WECOM_AGENT_ID": str(AGENT),
        "WECOM_SECRET": "bench",
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY,
        "SECRET_KEY": "bench",
        "CARE_NOTES_KEY": base64.urlsafe_b64encode(b"c" * 32).decode(),
        "WECOM_API_BASE": "http://127.0.0.1:9",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database(base_url: str | None, workdir: Path):
    if not base_url or not base_url.startswith("postgresql"):
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        migrate.upgrade(make_engine(url))
        return url, lambda: None
    schema = ExitStack()
    url = schema.enter_context(scratch_schema(base_url, f"bench_ratings_{os.getpid()}"))
    migrate.upgrade(make_engine(url))

    def drop() -> None:
        schema.close()

    return url, drop


def seed(database: Database, participants: int, now: datetime) -> tuple[int, list[str]]:
    userids = [f"s{number:05d}" for number in range(participants)]
    with database.session() as session:
        start = date(now.year if now.month >= 9 else now.year - 1, 9, 1)
        year = AcademicYear(
            code=f"{start.year}-{start.year + 1}",
            starts_on=start,
            ends_on=date(start.year + 1, 8, 31),
        )
        mentor = Person(userid="mentor", number="T0001", name="王老师", kind=PersonKind.STAFF)
        session.add_all([year, mentor])
        session.flush()
        session.execute(
            sa.insert(Person),
            [
                {
                    "userid": u,
                    "number": u.upper(),
                    "name": f"学生{u}",
                    "kind": PersonKind.STUDENT,
                    "active": True,
                }
                for u in userids
            ],
        )
        record = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            activity_type="学术讲座",
            title="学术讲座",
            occurred_at=now - timedelta(hours=5),
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
        ids = session.scalars(sa.select(Person.id).where(Person.userid.in_(userids))).all()
        session.execute(
            sa.insert(RecordParticipant), [{"record_id": record.id, "student_id": i} for i in ids]
        )
        return record.id, userids


def queue_cards(database: Database, now: datetime) -> dict:
    started = time.perf_counter()
    with database.session() as session:
        records = asking.due_activities(session, now, RatingPolicy())
        report = asking.send_cards(session, records, now, RatingPolicy())
    elapsed = time.perf_counter() - started
    with database.session() as session:
        hashes = session.scalar(sa.select(sa.func.count(sa.distinct(OutboxMessage.payload_hash))))
    return {"seconds": elapsed, "cards": report.cards, "payloads": hashes}


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bot:create_app()",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/wecom/callback", timeout=5)
            return process
        except requests.RequestException:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def tap_all(port: int, record_id: int, task_id: str, userids: list[str], rate: float) -> dict:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP)
    stamp = int(time.time())
    bodies = []
    for n, userid in enumerate(userids):
        xml = Envelope(CORP, AGENT, userid, stamp).card_tap(
            event_key=f"rate:{record_id}:{1 + n % 5}",
            task_id=task_id,
            card_type="button_interaction",
            response_code=f"rc{n}",
        )
        bodies.append(crypto.build_callback(xml, timestamp=stamp, nonce=f"n{n}", agent_id=1))
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    local = threading.local()

    def one(signed) -> None:
        nonlocal failures
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        began = time.perf_counter()
        response = http.post(
            f"http://127.0.0.1:{port}/wecom/callback",
            params=signed.query,
            data=signed.body,
            timeout=10,
        )
        elapsed = time.perf_counter() - began
        with lock:
            latencies.append(elapsed)
            failures += response.status_code != 200

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for index, signed in enumerate(bodies):
            pause = started + index / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(one, signed))
        for future in futures:
            future.result()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "taps": len(latencies),
        "rate": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "failures": failures,
    }


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as workdir:
        url, drop = prepare_database(os.environ.get("DATABASE_URL"), Path(workdir))
        redis_url = os.environ.get("REDIS_URL") or "memory://bench-ratings"
        database = Database(url)
        try:
            backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(f"back end: {backend}; {args.participants} participants")
            record_id, userids = seed(database, args.participants, now)
            queued = queue_cards(database, now)
            verdict = "ok" if queued["seconds"] < 1 else "SLOW"
            print(
                f"cards queued: {queued['cards']} rows, {queued['payloads']} distinct payload(s), "
                f"{queued['seconds'] * 1000:.0f} ms (target < 1000 ms: {verdict})"
            )
            with database.session() as session:
                task_id = session.scalar(sa.select(OutboxMessage.payload).limit(1))[
                    "template_card"
                ]["task_id"]
            port = 19000 + os.getpid() % 1000
            env = environment(url, redis_url)
            server = start_server(env, port, args.workers, args.threads)
            try:
                result = tap_all(port, record_id, task_id, userids, args.rate)
            finally:
                server.terminate()
                server.wait(timeout=10)
            with database.session() as session:
                stored = session.scalar(sa.select(sa.func.count(Rating.id)))
            verdict = (
                "ok" if result["p99_ms"] < 100 and result["rate"] >= args.rate * 0.95 else "MISSED"
            )
            print(
                f"taps: {result['taps']} at {result['rate']:.0f}/s offered {args.rate:.0f}/s "
                f"(gunicorn {args.workers}×{args.threads}); p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms; failures {result['failures']}; "
                f"ratings stored {stored} (target p99 < 100 ms: {verdict})"
            )
        finally:
            database.dispose()
            drop()


if __name__ == "__main__":
    main()
