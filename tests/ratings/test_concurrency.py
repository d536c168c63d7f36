"""Taps arriving at the same moment at several worker processes on PostgreSQL: 500 different
students give exactly 500 ratings; 500 taps by one student give exactly one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa

from bot.core.models import OutboxMessage, Person, PersonKind, Rating
from bot.ratings import jobs
from tests.live import free_port
from tests.ratings.conftest import POLICY, add_activity

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL (set DATABASE_URL): SQLite serialises writers, so concurrent taps "
    "from several processes are not a meaningful test there",
)

STUDENTS = 500
WORKERS = 3
THREADS = 8


@pytest.fixture
def server(settings_overrides, tmp_path) -> Iterator[str]:
    port = free_port()
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(PATH=os.environ["PATH"], HOME=str(tmp_path), LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bot:create_app()",
        ],
        cwd=os.getcwd(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base, tmp_path / "gunicorn.log")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_serving(process: subprocess.Popen, base: str, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/wecom/callback", timeout=5)
            return
        except requests.RequestException:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    pytest.fail("gunicorn did not start: " + log.read_text()[-2000:])


def _add_students(database, count: int) -> list[str]:
    userids = [f"conc{number:04d}" for number in range(count)]
    with database.session() as session:
        session.execute(
            sa.insert(Person),
            [
                {
                    "userid": userid,
                    "number": userid.upper(),
                    "name": f"学生{userid[-4:]}",
                    "kind": PersonKind.STUDENT,
                    "active": True,
                }
                for userid in userids
            ],
        )
    return userids


def _fire(base: str, bodies: list[tuple[dict, bytes]]) -> list[int]:
    """Post every callback at once: all threads wait at a gate, then go."""
    gate = threading.Event()

    def post(item: tuple[dict, bytes]) -> int:
        gate.wait()
        query, body = item
        return requests.post(
            base + "/wecom/callback", params=query, data=body, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(post, item) for item in bodies]
        time.sleep(0.2)
        gate.set()
        return [future.result() for future in futures]


def _tap(crypto, corp_id, agent_id, userid, key, task_id, create_time, number):
    from bot.devtools.simulator.callbacks import Envelope

    xml = Envelope(corp_id, agent_id, userid, create_time).card_tap(
        event_key=key, task_id=task_id, card_type="button_interaction", response_code=f"rc{number}"
    )
    signed = crypto.build_callback(xml, timestamp=int(time.time()), nonce=f"n{number}", agent_id=1)
    return signed.query, signed.body


def test_many_students_and_one_student_tapping_at_once(app, database, world, server):
    from bot.core.models import RecordParticipant

    userids = _add_students(database, STUDENTS + 1)
    record_id = add_activity(database, world, [])
    with database.session() as session:
        ids = dict(
            (userid, pid)
            for userid, pid in session.execute(
                sa.select(Person.userid, Person.id).where(Person.userid.in_(userids))
            )
        )
        session.execute(
            sa.insert(RecordParticipant),
            [{"record_id": record_id, "student_id": ids[userid]} for userid in userids],
        )
    assert jobs.send_rating_cards(database, datetime.now(UTC), policy=POLICY) == STUDENTS + 1
    with database.session() as session:
        task_id = session.scalar(
            sa.select(OutboxMessage.payload).where(OutboxMessage.userid == userids[0])
        )["template_card"]["task_id"]
    crypto = app.extensions["wecom_crypto"]
    settings = app.extensions["settings"]
    corp, agent = settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID
    stamp = int(time.time())

    many = [
        _tap(crypto, corp, agent, userid, f"rate:{record_id}:{1 + n % 5}", task_id, stamp, n)
        for n, userid in enumerate(userids[:STUDENTS])
    ]
    started = time.monotonic()
    assert _fire(server, many) == [200] * STUDENTS
    many_seconds = time.monotonic() - started

    solo = userids[STUDENTS]
    repeated = [
        _tap(crypto, corp, agent, solo, f"rate:{record_id}:{n % 6}", task_id, stamp + n, n)
        for n in range(STUDENTS)
    ]
    assert _fire(server, repeated) == [200] * STUDENTS

    with database.session() as session:
        count = sa.select(sa.func.count(Rating.id)).where(Rating.record_id == record_id)
        assert session.scalar(count.where(Rating.student_id != ids[solo])) == STUDENTS
        assert session.scalar(count.where(Rating.student_id == ids[solo])) == 1
        updates = session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.userid == solo, OutboxMessage.msgtype == "update_template_card"
            )
        )
        refusals = session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.userid == solo, OutboxMessage.msgtype == "text"
            )
        )
    assert updates == 1
    assert refusals == STUDENTS - 1
    assert many_seconds < 20
