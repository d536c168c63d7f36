"""Callback endpoint benchmark: signed callbacks against gunicorn on loopback.

Runs the real app (verify → de-duplicate → dispatch → outbox) and, in the same run, a bare Flask
endpoint that only verifies and decrypts. Reports throughput and p50/p99 latency at a fixed
offered rate (default 200 callbacks/s) and the saturated throughput of each.

    .venv/bin/python benchmarks/bench_callbacks.py            # SQLite + in-process Redis
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python benchmarks/bench_callbacks.py

Target (issue 3): p99 under 100 ms at 200 callbacks/s, and at least half the bare throughput.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import migrate  # noqa: E402
from bot.core.db import make_engine, scratch_schema  # noqa: E402
from bot.core.models import Person, PersonKind, Role, RoleGrant  # noqa: E402
from bot.devtools.simulator.callbacks import Envelope  # noqa: E402
from bot.wecom.crypto import WeComCrypto  # noqa: E402

USERS = 200


def settings(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"bench-{os.getpid()}:",
        "WECOM_CORP_ID": "wwbench",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "bench",
        "WECOM_TOKEN": "benchtoken",
        "WECOM_AES_KEY": base64.b64encode(b"k" * 32).decode().rstrip("="),
        "SECRET_KEY": "bench",
        "CARE_NOTES_KEY": base64.urlsafe_b64encode(b"c" * 32).decode(),
        "WECOM_API_BASE": "http://127.0.0.1:9",
    }


def prepare_database(base_url: str | None, workdir: Path) -> tuple[str, callable]:
    if not base_url or not base_url.startswith("postgresql"):
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        return url, engine, lambda: None
    schema = ExitStack()
    url = schema.enter_context(scratch_schema(base_url, f"bench_{os.getpid()}"))
    engine = make_engine(url)
    migrate.upgrade(engine)

    def drop() -> None:
        engine.dispose()
        schema.close()

    return url, engine, drop


def seed(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for index in range(USERS):
            person_id = connection.execute(
                sa.insert(Person).returning(Person.id),
                {
                    "userid": f"u{index}",
                    "number": f"N{index}",
                    "name": f"导师{index}",
                    "kind": PersonKind.STAFF,
                    "active": True,
                },
            ).scalar_one()
            connection.execute(sa.insert(RoleGrant), {"person_id": person_id, "role": Role.MENTOR})


def start(app: str, env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
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
            app,
        ],
        cwd=ROOT / ("benchmarks" if app.startswith("bare_app") else "."),
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.post(f"http://127.0.0.1:{port}/wecom/callback", timeout=1)
            return process
        except requests.RequestException:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app} did not start")


MSG_IDS = itertools.count(10**15 + os.getpid() * 10**9)  # unique across runs: no retries


def drive(port: int, crypto: WeComCrypto, rate: float | None, seconds: float) -> dict:
    counter = itertools.count(1)
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    session_local = threading.local()

    # Signed bodies are built before the clock starts: the load generator shares the CPU
    # with the server, and encrypting in the timed loop would be measured as server latency.
    expected = int((rate or 1500) * seconds * 1.1) + 100
    now = int(time.time())
    prepared = []
    for n in range(1, expected + 1):
        xml = Envelope("wwbench", 1000002, f"u{n % USERS}", now).text("帮助", next(MSG_IDS))
        prepared.append(crypto.build_callback(xml, timestamp=now, nonce=str(n)))

    def one() -> None:
        nonlocal failures
        n = next(counter)
        signed = prepared[(n - 1) % len(prepared)]
        http = getattr(session_local, "http", None) or requests.Session()
        session_local.http = http
        started = time.perf_counter()
        response = http.post(
            f"http://127.0.0.1:{port}/wecom/callback",
            params=signed.query,
            data=signed.body,
            timeout=10,
        )
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            if response.status_code != 200:
                failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        index = 0
        while time.perf_counter() - started < seconds:
            if rate:
                due = started + index / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            futures.append(pool.submit(one))
            index += 1
            if not rate and len(futures) - len(latencies) > 64:
                time.sleep(0.001)
        for future in futures:
            future.result()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "throughput": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures,
    }


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)  # as the Procfile ships
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url, engine, drop = prepare_database(os.environ.get("DATABASE_URL"), Path(workdir))
        redis_url = os.environ.get("REDIS_URL") or "memory://bench"
        env = settings(url, redis_url)
        seed(engine)
        crypto = WeComCrypto(env["WECOM_TOKEN"], env["WECOM_AES_KEY"], env["WECOM_CORP_ID"])
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(
            f"back end: {backend}, Redis: {redis_url}, "
            f"gunicorn: {args.workers} workers × {args.threads} threads"
        )
        results = {}
        for name, app in (("app", "bot:create_app()"), ("bare", "bare_app:app")):
            port = 18000 + (os.getpid() % 1000) + (0 if name == "app" else 1)
            process = start(app, env, port, args.workers, args.threads)
            try:
                drive(port, crypto, args.rate, 2)  # warm-up, not measured: imports, pools
                at_rate = drive(port, crypto, args.rate, args.seconds)
                saturated = drive(port, crypto, None, args.seconds)
            finally:
                process.terminate()
                process.wait(timeout=10)
            results[name] = (at_rate, saturated)
            print(
                f"{name:5} at {args.rate:.0f}/s: {at_rate['throughput']:.0f}/s "
                f"p50 {at_rate['p50_ms']:.1f} ms p99 {at_rate['p99_ms']:.1f} ms "
                f"failures {at_rate['failures']}; saturated {saturated['throughput']:.0f}/s "
                f"p99 {saturated['p99_ms']:.1f} ms"
            )
        ratio = results["app"][1]["throughput"] / results["bare"][1]["throughput"]
        print(f"app/bare saturated throughput: {ratio:.2f} (target ≥ 0.5)")
        print(f"p99 at {args.rate:.0f}/s: {results['app'][0]['p99_ms']:.1f} ms (target < 100 ms)")
        drop()


if __name__ == "__main__":
    main()
