"""Redis fails and comes back: nothing is lost, nothing is sent twice, no process exits.

Redis is a server of the test's own (``tests.redis_server``), killed and started again as a
crash would (it keeps nothing on disk, so it comes back empty). The database is the ledger:
during the outage callbacks are answered 200 and acted on once through the database marker,
their replies wait in the outbox, a flow that needs conversation state answers "系统繁忙", the
sender holds every message (the per-person limits live in Redis), and the scheduler stands down
and takes the lock again afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import structlog
from flask import Flask

from bot import create_app
from bot.chat.webhook import BUSY
from bot.core.models import OutboxMessage, OutboxStatus, ProcessedCallback, Role
from bot.core.redis_store import RedisStore
from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.callbacks import Envelope
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.outbox import sender
from bot.wecom.client import WeComClient
from scheduler.schedule import load_schedule
from tests.factories import WeComCaller, add_person
from tests.live import free_port, reset_installation
from tests.redis_server import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
MENTOR = "wanglaoshi"
WAIT = 60.0
_MSG_IDS = itertools.count(7_700_000_000_000_000_000)


def wait_for(what: str, condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _outbox(database: Any, userid: str = MENTOR) -> list[OutboxMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.userid == userid)
                .order_by(OutboxMessage.id)
            )
        )


def _processed(database: Any) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(ProcessedCallback))


def _texts(rows: list[OutboxMessage]) -> list[str]:
    return [row.payload["text"]["content"] for row in rows]


@pytest.fixture
def outage_app(settings_overrides: dict[str, Any], private_redis: PrivateRedis) -> Iterator[Flask]:
    app = create_app({**settings_overrides, "REDIS_URL": private_redis.url})
    app.config["TESTING"] = True
    with app.app_context(), app.extensions["database"].session() as session:
        add_person(session, MENTOR, "王老师", Role.MENTOR)
    yield app
    if private_redis.process is None:
        private_redis.start()
    reset_installation(app)


@pytest.fixture
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Try Redis again at every use (the pause after a failure is for production's load)."""
    monkeypatch.setattr("bot.core.redis_store.RETRY_SECONDS", 0.0)


# --- one process: the webhook, readiness, metrics, the sender ------------------------------


def test_callbacks_during_an_outage_are_answered_and_acted_on_once(
    outage_app, private_redis, no_retry_pause
):
    database = outage_app.extensions["database"]
    client = outage_app.test_client()
    wecom = WeComCaller(outage_app, client)
    help_id, chat_id = next(_MSG_IDS), next(_MSG_IDS)
    private_redis.stop()
    with structlog.testing.capture_logs() as logs:
        assert wecom.text(MENTOR, "帮助", msg_id=help_id).status_code == 200
        # free text is an answer to an open record flow, which lives in Redis
        assert wecom.text(MENTOR, "今天天气不错", msg_id=chat_id).status_code == 200
        assert wecom.text(MENTOR, "帮助", msg_id=help_id).status_code == 200  # WeCom's retry
        ready = client.get("/readyz")
        scraped = client.get("/metrics").text
    assert _processed(database) == 2
    rows = _outbox(database)
    assert [row.status for row in rows] == [OutboxStatus.PENDING] * 2
    assert "异科导师" in _texts(rows)[0]  # the help needs no conversation state
    assert _texts(rows)[1] == BUSY == "系统繁忙，请稍后再试。"
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"] == "unreachable"
    assert re.search(r"^mentorbot_redis_up 0\.0$", scraped, flags=re.MULTILINE)
    events = [entry["event"] for entry in logs]
    assert events.count("redis_unavailable") == 1  # once per outage, not per request
    assert not [entry for entry in logs if entry.get("log_level") in ("error", "critical")]

    private_redis.start()
    with structlog.testing.capture_logs() as logs:
        assert wecom.text(MENTOR, "帮助", msg_id=help_id).status_code == 200  # a late retry
        assert client.get("/readyz").status_code == 200
        assert re.search(
            r"^mentorbot_redis_up 1\.0$", client.get("/metrics").text, flags=re.MULTILINE
        )
    assert [entry["event"] for entry in logs].count("redis_recovered") == 1
    assert len(_outbox(database)) == 2  # the retry changed nothing
    assert _processed(database) == 2


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeWeCom, str]]:
    fake = FakeWeCom(corp_id="wwtestcorp0001", secret="test-secret", agent_id=1000002)
    fake.add_user(MENTOR, "王老师")
    with FakeWeComServer(fake) as running:
        yield fake, running.base_url


def test_the_sender_holds_messages_while_redis_is_down_and_sends_each_once_after(
    outage_app, private_redis, no_retry_pause, fake_api
):
    fake, base_url = fake_api
    database, store = outage_app.extensions["database"], outage_app.extensions["redis"]
    wecom = WeComCaller(outage_app, outage_app.test_client())
    client = WeComClient(
        corp_id="wwtestcorp0001",
        secret="test-secret",
        agent_id=1000002,
        redis_client=store.client,
        key_prefix=store.prefix,
        api_base=base_url,
        timeout=2,
        max_retries=0,
    )
    private_redis.stop()
    wecom.text(MENTOR, "帮助", msg_id=next(_MSG_IDS))
    wecom.text(MENTOR, "进度", msg_id=next(_MSG_IDS))
    for _ in range(3):  # the sender's loop comes round while Redis is away
        report = sender.drain_once(database, client, store, datetime.now(UTC))
        assert report.sent == 0
    assert fake.sent_to(MENTOR) == []
    rows = _outbox(database)
    assert [(row.status, row.attempts) for row in rows] == [(OutboxStatus.PENDING, 0)] * 2

    # held after the claim: a sender that has not noticed the outage yet claims, and its
    # limiter's first call fails
    unaware = RedisStore(private_redis.url, store.prefix)
    report = sender.drain_once(database, client, unaware, datetime.now(UTC))
    assert (report.claimed, report.held, report.sent) == (2, 2, 0)
    assert [(row.status, row.attempts) for row in _outbox(database)] == [
        (OutboxStatus.PENDING, 0)
    ] * 2

    private_redis.start()
    report = sender.drain_once(database, client, store, datetime.now(UTC))
    assert report.sent == 2
    assert sender.drain_once(database, client, store, datetime.now(UTC)).claimed == 0
    assert len(fake.sent_to(MENTOR)) == 2
    assert {row.status for row in _outbox(database)} == {OutboxStatus.SENT}


# --- every process: web, sender and scheduler through an outage ----------------------------


class Processes:
    """The installation's processes, each in a session of its own, output in files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.handles: list[Any] = []

    def start(self, name: str, args: list[str]) -> None:
        out = (self.logs / f"{name}.out").open("wb")
        err = (self.logs / f"{name}.err").open("wb")
        self.handles += [out, err]
        self.running[name] = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )

    def alive(self) -> dict[str, int | None]:
        return {name: process.poll() for name, process in self.running.items()}

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.err").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
        for handle in self.handles:
            handle.close()


def _ticks(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.split()[1] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_an_outage_loses_nothing_doubles_nothing_and_stops_no_process(
    outage_app, settings_overrides, private_redis, fake_api, tmp_path
):
    fake, base_url = fake_api
    database = outage_app.extensions["database"]
    settings = outage_app.extensions["settings"]
    crypto = outage_app.extensions["wecom_crypto"]
    ticks = tmp_path / "ticks.log"
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        "".join(f"[jobs.{job}]\nenabled = false\n" for job in load_schedule().entries)
        + '[jobs.tick]\njob = "tests.scheduler.tick_job:tick"\ninterval_seconds = 1\n'
        f'params = {{ log_path = "{ticks}" }}\n',
        encoding="utf-8",
    )
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(
        PATH=os.environ["PATH"],
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        REDIS_URL=private_redis.url,
        WECOM_API_BASE=base_url,
        SCHEDULE_FILE=str(schedule),
        SCHEDULER_LOCK_SECONDS="2",
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    (tmp_path / "logs").mkdir()
    processes = Processes(env, tmp_path / "logs")
    gunicorn = ["-m", "gunicorn", "--workers", "1", "--threads", "4"]
    processes.start("web", [*gunicorn, "--bind", f"127.0.0.1:{port}", "bot:create_app()"])
    processes.start("sender", ["-m", "flask", "--app", "bot", "outbox", "send"])
    processes.start("scheduler", ["-m", "scheduler"])

    def post(content: str, msg_id: int) -> requests.Response:
        xml = Envelope(settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID, MENTOR, int(time.time()))
        signed = crypto.build_callback(
            xml.text(content, msg_id), timestamp=int(time.time()), nonce=f"n{msg_id}"
        )
        return requests.post(
            web + "/wecom/callback", params=signed.query, data=signed.body, timeout=10
        )

    def serving() -> bool:
        try:
            return requests.get(web + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for("the web process", serving)
        wait_for("the scheduler's ticks", lambda: len(_ticks(ticks)) >= 2)

        private_redis.stop()
        help_id, chat_id = next(_MSG_IDS), next(_MSG_IDS)
        started = time.monotonic()
        assert post("帮助", help_id).status_code == 200
        assert post("今天天气不错", chat_id).status_code == 200
        assert post("帮助", help_id).status_code == 200  # WeCom's retry during the outage
        assert time.monotonic() - started < 5  # within WeCom's 5 s, all three
        assert requests.get(web + "/readyz", timeout=10).status_code == 503
        assert _processed(database) == 2
        assert len(_outbox(database)) == 2
        time.sleep(4)  # the scheduler's lease (2 s) ran out, the sender came round
        assert fake.sent_to(MENTOR) == []  # held: no send without the per-person limiter
        assert processes.alive() == dict.fromkeys(processes.running)  # all still running
        during = len(_ticks(ticks))
        time.sleep(2)
        assert len(_ticks(ticks)) == during  # the scheduler stood down

        private_redis.start()
        wait_for("the held replies", lambda: len(fake.sent_to(MENTOR)) == 2)
        assert post("帮助", help_id).status_code == 200  # WeCom's retry after recovery
        wait_for("the scheduler to resume", lambda: len(_ticks(ticks)) >= during + 2)
        wait_for("readiness", lambda: requests.get(web + "/readyz", timeout=10).ok)
        time.sleep(2)  # one more round of the sender: nothing more goes out
        assert processes.alive() == dict.fromkeys(processes.running)
    finally:
        processes.stop()

    delivered = [item.content for item in fake.sent_to(MENTOR)]
    assert len(delivered) == 2
    assert BUSY in str(delivered)
    assert "异科导师" in str(delivered)
    assert _processed(database) == 2
    assert {row.status for row in _outbox(database)} == {OutboxStatus.SENT}
    assert max(Counter(_ticks(ticks)).values()) == 1  # no run doubled
    for name in ("web", "sender", "scheduler"):  # the outage is logged once per process
        assert processes.log(name).count('"redis_unavailable"') == 1, name
    scheduler_log = processes.log("scheduler")
    assert '"scheduler_standing_down"' in scheduler_log
    assert '"scheduler_resumed"' in scheduler_log
    assert "Traceback" not in processes.log("web") + processes.log("sender") + scheduler_log
