"""Outbox benchmark: drain 40,000 personal messages to the fake WeCom API.

The fake API runs in a child process (its record of deliveries does not count against the
sender's memory) on 127.0.0.1. The outbox holds one message for each of 40,000 people, in
2,000 different texts (say, a reminder naming the person's mentor), so calls carry 20
recipients each. The sender drains in bounded passes as ``outbox send`` does; the script
reports time, calls, the sender's RSS before and after each quarter (flat = bounded memory) and
tracemalloc's peak of one pass, then checks with the fake API that every person got their
message exactly once and no one more than 30 a minute.

With REDIS_URL unset the per-person counters live in an in-process fake Redis, whose 80,000
keys show up in the sender's RSS; point REDIS_URL at a server to see the sender alone.

    .venv/bin/python benchmarks/bench_outbox.py [--messages 40000] [--texts 2000]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/bench_outbox.py
"""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import migrate  # noqa: E402
from bot.core.db import Database, scratch_schema  # noqa: E402
from bot.core.models import OutboxMessage, OutboxStatus  # noqa: E402
from bot.core.redis_store import RedisStore  # noqa: E402
from bot.outbox.queue import Message  # noqa: E402
from bot.outbox.ratelimit import CALLS_PER_MINUTE, PER_MINUTE  # noqa: E402
from bot.outbox.sender import drain_once  # noqa: E402
from bot.wecom.client import WeComClient  # noqa: E402

CORP_ID, SECRET, AGENT_ID = "wwbenchcorp", "bench-secret", 1000002


def fake_api(connection: Any, users: int) -> None:
    """Child process: serve the fake API, then answer one request for delivery figures."""
    from bot.devtools.simulator.api_server import FakeWeComServer
    from bot.devtools.simulator.fake_api import FakeWeCom

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    state = FakeWeCom(
        CORP_ID, SECRET, AGENT_ID, callback_url="https://bot.example.edu/wecom/callback"
    )
    for n in range(users):
        state.add_user(f"u{n}", f"u{n}")
    with FakeWeComServer(state) as server:
        connection.send(server.base_url)
        connection.recv()
        per_user = Counter()
        per_user_minute = Counter()
        call_minutes: dict[str, int] = {}
        for n in range(users):
            for item in state.sent_to(f"u{n}"):
                per_user[item.userid] += 1
                per_user_minute[(item.userid, int(item.sent_at // 60))] += 1
                call_minutes[item.msgid] = int(item.sent_at // 60)
        connection.send(
            {
                "delivered": sum(per_user.values()),
                "people": len(per_user),
                "max_per_person": max(per_user.values(), default=0),
                "max_per_person_minute": max(per_user_minute.values(), default=0),
                "calls": len(state.calls("message/send")),
                "max_calls_minute": max(Counter(call_minutes.values()).values(), default=0),
            }
        )


def postgres_schema(base_url: str) -> AbstractContextManager[str]:
    return scratch_schema(base_url, f"bench_outbox_{uuid.uuid4().hex[:8]}")


def fill(database: Database, messages: int, texts: int) -> None:
    """Insert the messages 5,000 at a time (the list of rows never holds them all); each
    text's recipients side by side, as a job's ``notify`` enqueues them."""
    now = datetime.now(UTC)
    payloads = [Message.text(f"【提醒】请为导师{n}号的本月指导评价。") for n in range(texts)]
    digests = [message.digest() for message in payloads]
    for start in range(0, messages, 5000):
        rows = [
            {
                "key": f"bench:u{n}",
                "userid": f"u{n}",
                "msgtype": "text",
                "payload": payloads[n * texts // messages].payload(),
                "payload_hash": digests[n * texts // messages],
                "urgent": False,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "available_at": now,
            }
            for n in range(start, min(start + 5000, messages))
        ]
        with database.session() as session:
            session.execute(sa.insert(OutboxMessage), rows)


def rss_mb() -> float:
    """The current resident set (Linux), else the peak so far."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(label: str, url: str, messages: int, texts: int) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=fake_api, args=(child, messages), daemon=True)
    process.start()
    base_url = parent.recv()
    database = Database(url)
    store = RedisStore(os.environ.get("REDIS_URL", "memory://bench-outbox"), "bench-outbox:")
    store.delete_all_keys()
    try:
        migrate.upgrade(database.engine)
        fill(database, messages, texts)
        client = WeComClient(
            corp_id=CORP_ID,
            secret=SECRET,
            agent_id=AGENT_ID,
            redis_client=store.client,
            key_prefix=store.prefix,
            api_base=base_url,
            max_retries=0,
        )
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        sent = calls = passes = 0
        marks = []
        while True:
            traced = passes == 1
            if traced:
                tracemalloc.start()
            report = drain_once(database, client, store, datetime.now(UTC))
            if traced:
                pass_peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
                tracemalloc.stop()
            passes += 1
            sent += report.sent
            calls += report.calls
            if report.claimed == 0:
                with database.session() as session:
                    waiting = session.scalar(
                        sa.select(sa.func.count()).where(
                            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
                        )
                    )
                if not waiting:
                    break
                time.sleep(1)  # deferred rows (limits): wait for their minute
            while len(marks) < 4 and sent >= messages * (len(marks) + 1) / 4:
                marks.append(rss_mb())
        elapsed = time.perf_counter() - started
        parent.send("stats")
        stats = parent.recv()
        print(
            f"{label:>10}: {sent} sent in {elapsed:5.1f} s ({sent / elapsed:,.0f}/s), "
            f"{calls} calls in {passes} passes"
        )
        print(
            f"{label:>10}: RSS before draining {before:.0f} MB, after each quarter "
            + " / ".join(f"{mark:.0f}" for mark in marks)
            + f" MB (peak {max(peak_rss_mb(), *marks):.0f}); "
            + f"tracemalloc peak of one pass {pass_peak:.1f} MB"
        )
        print(f"{label:>10}: fake API {stats}")
        if stats["delivered"] != messages or stats["people"] != messages:
            raise SystemExit(f"{label}: delivered {stats['delivered']} of {messages}")
        if stats["max_per_person"] != 1:
            raise SystemExit(f"{label}: someone got a message twice")
        if stats["max_per_person_minute"] > PER_MINUTE:
            raise SystemExit(f"{label}: more than {PER_MINUTE} a minute to one person")
        if stats["max_calls_minute"] > CALLS_PER_MINUTE:
            raise SystemExit(f"{label}: more than {CALLS_PER_MINUTE} calls a minute")
    finally:
        database.dispose()
        store.delete_all_keys()
        process.terminate()


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=40000)
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.messages, args.texts)
    base_url = os.environ.get("DATABASE_URL", "")
    if base_url.startswith("postgresql"):
        with postgres_schema(base_url) as url:
            run("postgresql", url, args.messages, args.texts)
    print("OK: every message delivered once, within the per-person and per-app limits")


if __name__ == "__main__":
    main()
