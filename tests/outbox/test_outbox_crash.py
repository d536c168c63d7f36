"""A sender process killed mid-batch (SIGKILL while the API hangs): after the lease a fresh
sender delivers what was in flight; nothing sent before is sent again, nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.models import OutboxMessage, OutboxStatus
from bot.outbox.lease import LEASE
from bot.outbox.queue import Message, enqueue
from bot.outbox.sender import drain_once

ROOT = Path(__file__).resolve().parents[2]


def _statuses(database) -> dict[str, OutboxStatus]:
    with database.session() as session:
        return {row.key: row.status for row in session.scalars(sa.select(OutboxMessage))}


def test_killed_sender_loses_nothing_and_doubles_nothing(
    app, database, wecom, fake, fake_server, settings_overrides
):
    now = datetime.now(UTC)
    store = app.extensions["redis"]
    with database.session() as session:
        enqueue(session, ["zhangsan", "lisi"], Message.text("第一条"), key="first", now=now)
    assert drain_once(database, wecom, store, now).sent == 2
    with database.session() as session:
        enqueue(
            session, ["zhangsan", "lisi", "wangwu"], Message.text("第二条"), key="second", now=now
        )

    fake.inject_fault("message/send", hang=True)
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(PATH=os.environ["PATH"], PYTHONPATH=str(ROOT), WECOM_API_BASE=fake_server.base_url)
    child = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "bot", "outbox", "send"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while len(fake.calls("message/send")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fake.calls("message/send")) == 2, "the child never called message/send"
        assert child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    statuses = _statuses(database)
    assert {statuses[f"second:{u}"] for u in ("zhangsan", "lisi", "wangwu")} == {
        OutboxStatus.SENDING
    }
    # before the lease runs out nobody touches the in-flight rows
    assert drain_once(database, wecom, store, datetime.now(UTC)).claimed == 0
    report = drain_once(database, wecom, store, datetime.now(UTC) + LEASE + timedelta(seconds=1))
    assert (report.claimed, report.sent) == (3, 3)
    for userid in ("zhangsan", "lisi"):
        texts = [d.content["content"] for d in fake.sent_to(userid)]
        assert texts == ["第一条", "第二条"]
    assert [d.content["content"] for d in fake.sent_to("wangwu")] == ["第二条"]
    assert set(_statuses(database).values()) == {OutboxStatus.SENT}
    with database.session() as session:
        attempts = session.scalars(
            sa.select(OutboxMessage.attempts).where(OutboxMessage.key.like("second:%"))
        ).all()
    assert attempts == [2, 2, 2]


@pytest.fixture(autouse=True)
def _never_hang_the_teardown(fake):
    yield
    fake.clear_faults()
