import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot import create_app
from bot.calendar import Rules
from bot.core.models import Role
from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.callbacks import Envelope
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.ops import metrics
from bot.ops.metrics import allowed, parse_networks
from bot.outbox import queue as outbox
from bot.outbox import sender
from bot.wecom.client import WeComClient
from scheduler.runner import Controls, run_job
from scheduler.schedule import Entry
from tests.factories import WeComCaller, add_person
from tests.live import free_port, reset_installation

ROOT = Path(__file__).resolve().parents[2]
RULES = Rules(zone=ZoneInfo("Asia/Shanghai"))


def _scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or (
            line.startswith(name + "{") and line.split(" ")[0] == name
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_only_for_allowed_addresses(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1", True), ("::1", True), ("10.0.0.5", True), ("10.1.0.5", False), ("", False)],
)
def test_allow_list(address, expected):
    assert allowed(address, parse_networks("127.0.0.1, ::1, 10.0.0.0/16")) is expected


def test_callbacks_duplicates_and_outbox_are_counted(app, client, database):
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    before = _scrape(client)
    handled = 'mentorbot_callbacks_total{outcome="handled",type="text"}'
    duplicates = "mentorbot_callback_duplicates_total"
    caller = WeComCaller(app, client)
    caller.text("wanglaoshi", "帮助", msg_id=424242)
    caller.text("wanglaoshi", "帮助", msg_id=424242)
    after = _scrape(client)
    assert _value(after, handled) == _value(before, handled) + 1
    assert _value(after, duplicates) == _value(before, duplicates) + 1
    assert 'mentorbot_outbox_messages{status="pending"} 1.0' in after


def test_oldest_pending_age(app, client, database):
    with database.session() as session:
        outbox.enqueue(
            session,
            ["someone"],
            outbox.Message.text("x"),
            key="old",
            now=datetime.now(UTC) - timedelta(hours=1),
        )
    age = _value(_scrape(client), "mentorbot_outbox_oldest_pending_seconds")
    assert 3500 < age < 3700


# --- sends and job runs: counted in Redis by the sender and scheduler processes -------------

CORP_ID, SECRET, AGENT_ID = "wwtestcorp0001", "test-secret", 1000002  # as settings_overrides
SENDS = 'mentorbot_sends_total{errcode="%s"}'
JOB_RUNS = 'mentorbot_job_runs_total{job="%s",outcome="%s"}'


@pytest.fixture
def fake_wecom() -> Iterator[tuple[FakeWeCom, str]]:
    state = FakeWeCom(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, hang_seconds=5)
    for userid in ("zhangsan", "lisi", "wangwu"):
        state.add_user(userid, userid)
    with FakeWeComServer(state) as server:
        yield state, server.base_url


def _enqueue(database, userid: str, text: str, now: datetime) -> None:
    with database.session() as session:
        outbox.enqueue(session, [userid], outbox.Message.text(text), key=text, now=now)


def test_sends_are_counted_by_errcode(app, client, database, fake_wecom):
    fake, base_url = fake_wecom
    store = app.extensions["redis"]
    wecom = WeComClient(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        redis_client=store.client,
        key_prefix=store.prefix,
        api_base=base_url,
        timeout=0.5,
        max_retries=0,
    )
    now = datetime.now(UTC)
    before = _scrape(client)
    for text, userid in (("一", "zhangsan"), ("二", "lisi"), ("三", "ghost")):
        _enqueue(database, userid, text, now)
    fake.inject_fault("message/send", errcode=45033)  # the first call: 接口并发调用超过限制
    report = sender.drain_once(database, wecom, store, now)
    assert report.calls == 3 and report.answers == {"45033": 1, "0": 1, "81013": 1}
    _enqueue(database, "wangwu", "四", now)
    fake.inject_fault("message/send", hang=True)  # no answer at all: the client times out
    assert sender.drain_once(database, wecom, store, now).answers == {metrics.NO_ANSWER: 1}
    fake.release_hangs()
    after = _scrape(client)
    for errcode, added in (("0", 1), ("45033", 1), ("81013", 1), (metrics.NO_ANSWER, 1)):
        assert _value(after, SENDS % errcode) == _value(before, SENDS % errcode) + added
    later = now + timedelta(minutes=5)  # the two retried rows are due again and go through
    assert sender.drain_once(database, wecom, store, later).answers == {"0": 2}
    assert _value(_scrape(client), SENDS % "0") == _value(before, SENDS % "0") + 3


def test_job_runs_are_counted_by_outcome(app, client, database, tmp_path):
    store = app.extensions["redis"]
    controls = Controls(store)
    job = "tests.scheduler.tick_job:tick"
    tick = Entry(id="tick", job=job, interval_seconds=60, params={"log_path": str(tmp_path / "t")})
    broken = Entry(id="broken", job=job, interval_seconds=60)  # no log_path: raises TypeError
    now = datetime.now(UTC)
    before = _scrape(client)
    for minute in range(2):
        run_job(tick, database, now + timedelta(minutes=minute), RULES, controls)
    with pytest.raises(TypeError):
        run_job(broken, database, now, RULES, controls)
    after = _scrape(client)
    assert _value(after, JOB_RUNS % ("tick", "ok")) == _value(before, JOB_RUNS % ("tick", "ok")) + 2
    failed = JOB_RUNS % ("broken", "failed")
    assert _value(after, failed) == _value(before, failed) + 1
    assert _value(after, JOB_RUNS % ("tick", "failed")) == 0
    assert "tick" in controls.last_runs() and "broken" not in controls.last_runs()


@pytest.mark.slow
def test_counts_of_sender_and_scheduler_processes_reach_the_web_metrics(
    settings_overrides, shared_redis_url, fake_wecom, tmp_path
):
    """Counters incremented in `flask outbox send` and `python -m scheduler run`, two other
    processes, are what the web process's /metrics shows."""
    fake, base_url = fake_wecom
    overrides = {**settings_overrides, "REDIS_URL": shared_redis_url, "WECOM_API_BASE": base_url}
    web = create_app(overrides)
    try:
        client = web.test_client()
        schedule = tmp_path / "schedule.toml"
        schedule.write_text(
            '[jobs.tick]\njob = "tests.scheduler.tick_job:tick"\ninterval_seconds = 3600\n'
            f'params = {{ log_path = "{tmp_path / "ticks"}" }}\n',
            encoding="utf-8",
        )
        env = {key: str(value) for key, value in overrides.items()}
        env.update(PATH=os.environ["PATH"], HOME=str(tmp_path), PYTHONPATH=str(ROOT))
        env.update(SCHEDULE_FILE=str(schedule), LOG_LEVEL="WARNING")
        before = _scrape(client)
        _enqueue(web.extensions["database"], "zhangsan", "你好", datetime.now(UTC))
        for command in (
            [sys.executable, "-m", "flask", "--app", "bot", "outbox", "send", "--once"],
            [sys.executable, "-m", "scheduler", "run", "tick"],
        ):
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr[-2000:]
        after = _scrape(client)
        assert [d.content["content"] for d in fake.sent_to("zhangsan")] == ["你好"]
        assert _value(after, SENDS % "0") == _value(before, SENDS % "0") + 1
        ok = JOB_RUNS % ("tick", "ok")
        assert _value(after, ok) == _value(before, ok) + 1
    finally:
        reset_installation(web)


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample of the exposition ``text``, whatever order its labels come in."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.mark.slow
def test_several_gunicorn_workers_report_every_callback(
    app, settings_overrides, shared_redis_url, tmp_path
):
    """The web unit's setup (PROMETHEUS_MULTIPROC_DIR, a directory emptied at each start):
    whichever worker answers the scrape, it counts the callbacks every worker handled."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "prometheus").mkdir()
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(
        PATH=os.environ["PATH"],
        HOME=str(tmp_path),
        REDIS_URL=shared_redis_url,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        LOG_LEVEL="WARNING",
    )
    argv = ["-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "bot:create_app()"]
    web = subprocess.Popen(
        [sys.executable, *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.1)
        crypto = app.extensions["wecom_crypto"]
        corp, agent = CORP_ID, AGENT_ID
        callbacks = [
            crypto.build_callback(
                Envelope(corp, agent, "visitor", int(time.time())).text("你好", 32_000_000 + n),
                timestamp=int(time.time()),
                nonce=f"w{n}",
            )
            for n in range(24)
        ]

        def post(signed) -> int:
            return requests.post(
                base + "/wecom/callback", params=signed.query, data=signed.body, timeout=10
            ).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            assert list(pool.map(post, callbacks)) == [200] * len(callbacks)
        for _ in range(6):  # each scrape may reach another worker
            text = requests.get(base + "/metrics", timeout=10).text
            handled = _sample(text, "mentorbot_callbacks_total", type="text", outcome="handled")
            assert handled == len(callbacks)
            assert _sample(text, "mentorbot_callback_seconds_count") == len(callbacks)
    finally:
        web.terminate()
        web.wait(timeout=15)
