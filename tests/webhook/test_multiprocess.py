"""WeCom's retries reach several worker processes at once: each callback is acted on once."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from bot.core.models import OutboxMessage, ProcessedCallback, Role
from tests.factories import WeComCaller, add_person
from tests.live import free_port


def _start_worker(settings_overrides, cwd) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(PATH=os.environ["PATH"], HOME=str(cwd))
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "bot", "run", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/wecom/callback", timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("worker did not start")


@pytest.fixture
def workers(settings_overrides, tmp_path):
    started = [_start_worker(settings_overrides, tmp_path) for _ in range(2)]
    yield [base for _, base in started]
    for process, _ in started:
        process.terminate()
        process.wait(timeout=10)


def test_three_concurrent_deliveries_to_two_processes_act_once(app, client, database, workers):
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    caller = WeComCaller(app, client)
    for round_number in range(5):
        xml = caller.envelope("wanglaoshi").text("帮助", msg_id=9_000_000 + round_number)
        signed = caller.crypto.build_callback(
            xml, timestamp=int(time.time()), nonce="retry", agent_id=1
        )
        targets = [workers[0], workers[1], workers[round_number % 2]]

        def deliver(base, signed=signed):
            return requests.post(
                base + "/wecom/callback", params=signed.query, data=signed.body, timeout=10
            ).status_code

        with ThreadPoolExecutor(max_workers=3) as pool:
            statuses = list(pool.map(deliver, targets))
        assert statuses == [200, 200, 200]
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedCallback)) == 5
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 5
