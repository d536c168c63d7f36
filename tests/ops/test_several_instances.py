"""Several instances of every process on one machine, on PostgreSQL and Redis, through a busy
day in the WeCom simulator.

Two web processes (gunicorn, two workers of four threads each, as the Procfile ships them, on
two ports: what a load balancer would spread callbacks over), two outbox senders and two
schedulers (one must stay idle behind the Redis lock) all talk to the fake WeCom API. Mentors
log contacts by text and tap menu buttons, students tap the rating cards a scheduled job sent
them; WeCom's retries are imitated: some callbacks reach both web processes at once, some come
again later, and one that got no answer (connection refused or reset) is sent to the other
process until it gets a 200. In the middle of the rush one web process is killed with SIGKILL
and later started again; reminders are queued by two `python -m scheduler run` at once.

Afterwards every callback was acted on exactly once, every rating is stored, and every queued
message reached the fake API exactly once (none pending, no dead letters). Every expectation is
computed from what was sent; nothing is timed.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    OutboxMessage,
    OutboxStatus,
    ProcessedCallback,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
    Semester,
    Unit,
    UnitKind,
)
from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.callbacks import Envelope
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.ratings.rules import DID_NOT_ATTEND
from bot.wecom import messages as wm
from handlers.help import MENU_HELP
from handlers.progress import MENU_MINE
from handlers.record_list import MENU_LIST
from scheduler.schedule import load_schedule
from tests.factories import add_person
from tests.live import free_port
from tests.ops import busy_day_jobs
from tests.records.conftest import year_around

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgresql")
        or not os.environ.get("REDIS_URL", "").startswith("redis"),
        reason="needs PostgreSQL and Redis (set DATABASE_URL=postgresql+psycopg://… and "
        "REDIS_URL=redis://…): several processes share one database and one Redis, which "
        "SQLite and the in-process Redis cannot be",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
MENTORS = 80
STUDENTS_PER_MENTOR = 8
TEXTS_PER_MENTOR = 20  # with the clicks and the reminder under WeCom's 30 a minute per person
CLICKS_PER_MENTOR = 3  # each menu button once (see check_sent_once)
DOUBLE_TAP_EVERY = 10  # every tenth student taps the card twice
BOTH_AT_ONCE = 0.35  # share of callbacks delivered to both web processes at the same time
LATE_RETRY = 0.15  # share of callbacks delivered once more after the rush
THREADS = 16
SEED = 1125
WAIT = 90.0  # seconds any one wait may take before the test fails

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜谢邹柏窦章苏潘葛范彭鲁"
GIVEN = "伟芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英玉萍红玲芬燕彬鹏辉晨晗宇轩涵睿博"
TOPICS = ("选课", "实习", "考研", "竞赛", "读书", "科研", "就业", "留学")
MENU_KEYS = (MENU_HELP, MENU_LIST, MENU_MINE)


# --- the day's people -----------------------------------------------------------------------


@dataclass
class Day:
    year_id: int
    mentor_ids: dict[str, int]  # userid → person id
    students: dict[str, list[tuple[str, str, int]]]  # mentor → [(userid, name, person id)]
    activities: dict[str, int]  # mentor → the group activity their students rate

    @property
    def student_ids(self) -> dict[str, int]:
        return {userid: pid for group in self.students.values() for userid, _, pid in group}


def _names() -> Iterator[str]:
    for surname, first, second in itertools.product(SURNAMES, GIVEN, GIVEN):
        if first != second:
            yield surname + first + second


def seed_day(database: Any, now: datetime, zone: ZoneInfo) -> Day:
    """A college whose mentors each have students and held one group activity today."""
    code, starts, ends = year_around(now.astimezone(zone).date())
    names = _names()
    with database.session() as session:
        year = AcademicYear(code=code, starts_on=starts, ends_on=ends)
        year.semesters = [
            Semester(number=1, starts_on=starts, ends_on=date(starts.year + 1, 1, 31)),
            Semester(number=2, starts_on=date(starts.year + 1, 2, 1), ends_on=ends),
        ]
        college = Unit(code="BUSY", name="繁忙学院", kind=UnitKind.COLLEGE)
        session.add_all([year, college])
        session.flush()
        day = Day(year.id, {}, {}, {})
        for m in range(MENTORS):
            mentor = add_person(session, f"busy_m{m:03d}", f"导师{m:03d}", Role.MENTOR)
            day.mentor_ids[mentor.userid] = mentor.id
            group = [
                add_person(session, f"busy_s{m:03d}_{s}", next(names), Role.STUDENT)
                for s in range(STUDENTS_PER_MENTOR)
            ]
            day.students[mentor.userid] = [(p.userid, p.name, p.id) for p in group]
            assignment = MentorAssignment(
                year_id=year.id, mentor_id=mentor.id, college_id=college.id
            )
            assignment.students = [MentorStudent(year_id=year.id, student_id=p.id) for p in group]
            activity = Record(
                year_id=year.id,
                mentor_id=mentor.id,
                kind=RecordKind.GROUP_ACTIVITY,
                activity_type="读书沙龙",
                title=f"读书沙龙第{m + 1}期",
                occurred_at=now - timedelta(hours=5),
                created_at=now,
                updated_at=now,
            )
            activity.participants = [RecordParticipant(student_id=p.id) for p in group]
            session.add_all([assignment, activity])
            session.flush()
            day.activities[mentor.userid] = activity.id
    return day


# --- the processes --------------------------------------------------------------------------


class Installation:
    """Every process of one installation, each in a session of its own (SIGKILL takes a
    gunicorn master and its workers at once, like a machine going away); output goes to files
    under ``logs``."""

    def __init__(self, env: dict[str, str], cwd: Path, logs: Path) -> None:
        self.env, self.cwd, self.logs = env, cwd, logs
        self.ports = [free_port(), free_port()]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: Counter[str] = Counter()
        self.files: list[Any] = []

    def start_all(self) -> None:
        for index in range(2):
            self.start_web(index)
        for index in range(2):
            self.start(f"sender{index}", ["-m", "flask", "--app", "bot", "outbox", "send"])
        for index in range(2):  # at INFO the schedulers say which jobs they ran
            self.start(f"scheduler{index}", ["-m", "scheduler"], LOG_LEVEL="INFO")
        for base in self.bases:
            wait_for(f"{base} to serve", lambda base=base: serving(base))

    def start_web(self, index: int) -> None:
        bind = f"127.0.0.1:{self.ports[index]}"
        gunicorn = ["-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind", bind]
        gunicorn += ["--log-level", "warning"]
        self.start(f"web{index}", [*gunicorn, "bot:create_app()"])

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        label = f"{name}.{self.starts[name]}"
        out, err = (self.logs / f"{label}.out").open("wb"), (self.logs / f"{label}.err").open("wb")
        self.files += [out, err]
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=WAIT)

    def output(self, name: str, stream: str = "out", start: int = 1) -> str:
        path = self.logs / f"{name}.{start}.{stream}"
        return path.read_text(encoding="utf-8", errors="replace")

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=WAIT)
        self.running.clear()
        for handle in self.files:
            handle.close()


def wait_for(what: str, condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def serving(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.MULTILINE)
    return float(found.group(1)) if found else 0.0


# --- callbacks as WeCom sends them ----------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    kind: str  # text, click or tap
    userid: str
    xml: str
    dedupe_key: str
    query: dict[str, str] = field(hash=False)
    body: bytes = field(hash=False)
    student: str = ""  # texts: the student the contact was with
    record_id: int = 0  # taps: the activity and the level chosen
    level: int = 0


class Driver:
    """Posts signed callbacks like WeCom: a delivery that gets no 200 (refused, reset, 5xx) is
    sent again, to the other web process, until it is answered."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.posts = 0
        self.failovers = 0
        self._lock = threading.Lock()

    def deliver(self, callback: Callback, target: int) -> None:
        deadline = time.monotonic() + WAIT
        for attempt in itertools.count():
            base = self.bases[(target + attempt) % len(self.bases)]
            with self._lock:
                self.posts += 1
                self.failovers += attempt > 0
            try:
                answer = requests.post(
                    base + "/wecom/callback", params=callback.query, data=callback.body, timeout=15
                )
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code == 200:
                return
            if answer is not None:  # only "try again" answers are acceptable
                assert answer.status_code >= 500, (answer.status_code, callback.kind)
            assert time.monotonic() < deadline, f"{callback.kind} never answered"
            time.sleep(0.05)


def sign(crypto: Any, kind: str, userid: str, xml: str, nonce: str, **extra: Any) -> Callback:
    signed = crypto.build_callback(xml, timestamp=int(time.time()), nonce=nonce, agent_id=1)
    key = wm.parse_message(xml).dedupe_key
    return Callback(kind, userid, xml, key, signed.query, signed.body, **extra)


def build_callbacks(
    day: Day, fake: FakeWeCom, crypto: Any, settings: Any, rng: random.Random
) -> list[Callback]:
    """Mentors' texts and menu clicks, students' taps on their cards (every tenth twice), in
    a random order."""
    corp_id, agent_id = settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID
    stamp = int(time.time())
    msg_ids = itertools.count(8_800_000_000_000_000_000)
    nonces = (f"busy{n}" for n in itertools.count())
    callbacks: list[Callback] = []
    students_seen = itertools.count(1)
    for mentor, students in day.students.items():
        for number in range(TEXTS_PER_MENTOR):
            student, name, _ = students[number % len(students)]
            text = f"交流 {name} 线上 聊{TOPICS[number % len(TOPICS)]}第{number + 1}次"
            xml = Envelope(corp_id, agent_id, mentor, stamp).text(text, next(msg_ids))
            callbacks.append(sign(crypto, "text", mentor, xml, next(nonces), student=student))
        for number in range(CLICKS_PER_MENTOR):
            envelope = Envelope(corp_id, agent_id, mentor, stamp + number)
            xml = envelope.event("click", MENU_KEYS[number % len(MENU_KEYS)])
            callbacks.append(sign(crypto, "click", mentor, xml, next(nonces)))
        for student, _, _ in students:
            card = next(d for d in fake.sent_to(student) if d.msgtype == "template_card")
            buttons = [b for b in card.content["button_list"] if not b["key"].endswith(":0")]
            button = rng.choice(buttons)
            level = int(button["key"].rsplit(":", 1)[1])
            assert level != DID_NOT_ATTEND
            taps = 2 if next(students_seen) % DOUBLE_TAP_EVERY == 0 else 1
            for tap in range(taps):  # a second tap is a new callback: 已经评价过 is the answer
                xml = Envelope(corp_id, agent_id, student, stamp + 100 + tap).card_tap(
                    event_key=button["key"],
                    task_id=card.task_id,
                    card_type="button_interaction",
                    response_code=fake.issue_response_code(student, card.task_id),
                )
                callbacks.append(
                    sign(
                        crypto,
                        "tap",
                        student,
                        xml,
                        next(nonces),
                        record_id=day.activities[mentor],
                        level=level,
                    )
                )
    rng.shuffle(callbacks)
    return callbacks


# --- what the outbox sent and what the fake API received ------------------------------------


def row_shape(row: OutboxMessage) -> tuple[str, str]:
    """A queued message as the person's phone shows it (task ids left out: a card split over
    several calls gets a task id per call)."""
    payload = row.payload[row.msgtype]
    if row.msgtype == "update_template_card":
        return row.msgtype, str(payload["button"]["replace_name"])
    if row.msgtype == "template_card":
        return row.msgtype, str(payload["main_title"]) + str(payload.get("horizontal_content_list"))
    if row.msgtype in ("image", "file"):  # 我的 comes with a picture, stored by its sha256
        return row.msgtype, str(payload["storage_key"]).rsplit("/", 1)[-1].split(".")[0]
    return row.msgtype, str(payload["content"])


def delivered_shape(item: Any, fake: FakeWeCom) -> tuple[str, str]:
    if item.msgtype in ("image", "file"):
        media = fake.media(item.content["media_id"])
        assert media is not None, item
        return item.msgtype, hashlib.sha256(media.content).hexdigest()
    if item.msgtype == "update_template_card":
        return item.msgtype, str(item.content["replace_name"])
    if item.msgtype == "template_card":
        content = item.content
        return item.msgtype, str(content["main_title"]) + str(
            content.get("horizontal_content_list")
        )
    return item.msgtype, str(item.content["content"])


# --- the test -------------------------------------------------------------------------------


def test_a_busy_day_on_two_web_two_sender_and_two_scheduler_processes(
    app, database, settings_overrides, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="werkzeug")  # the fake API's request lines
    started = time.monotonic()
    now = datetime.now(UTC)
    settings = app.extensions["settings"]
    day = seed_day(database, now, settings.zone)
    fake = FakeWeCom(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        agent_id=settings.WECOM_AGENT_ID,
        callback_url=settings.PUBLIC_BASE_URL + "/wecom/callback",
    )
    for mentor, students in day.students.items():
        fake.add_user(mentor, mentor)
        for student, name, _ in students:
            fake.add_user(student, name)
    before = app.test_client().get("/metrics").text  # the counters live in Redis: shared
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        # the default jobs off; rating cards every 2 s; the reminder only when run by hand
        "".join(f"[jobs.{job}]\nenabled = false\n" for job in load_schedule().entries)
        + '[jobs.busy_rating_cards]\njob = "bot.ratings.jobs:send_rating_cards"\n'
        "interval_seconds = 2\n"
        f'[jobs.busy_reminder]\njob = "{busy_day_jobs.__name__}:remind_mentors"\n'
        'cron = "7 9 1 1 *"\nenabled = false\nparams = { prefix = "busy_m" }\n',
        encoding="utf-8",
    )
    (tmp_path / "logs").mkdir()
    with FakeWeComServer(fake) as api:
        env = {key: str(value) for key, value in settings_overrides.items()}
        env.update(
            PATH=os.environ["PATH"],
            HOME=str(tmp_path),
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            WECOM_API_BASE=api.base_url,
            SCHEDULE_FILE=str(schedule),
            LOG_LEVEL="WARNING",
            RATING_MONTHLY_CARDS="false",  # early in a month the job would add guidance cards
        )
        installation = Installation(env, tmp_path, tmp_path / "logs")
        try:
            installation.start_all()
            # the scheduled job sends every student the card of today's activity
            wait_for(
                "the rating cards",
                lambda: all(
                    any(d.msgtype == "template_card" for d in fake.sent_to(student))
                    for student in day.student_ids
                ),
            )
            setup_seconds = time.monotonic() - started

            rng = random.Random(SEED)
            callbacks = build_callbacks(day, fake, app.extensions["wecom_crypto"], settings, rng)
            deliveries: list[tuple[Callback, int]] = []
            for callback in callbacks:
                target = rng.randrange(2)
                deliveries.append((callback, target))
                if rng.random() < BOTH_AT_ONCE:
                    deliveries.append((callback, 1 - target))
            late = [(c, rng.randrange(2)) for c in callbacks if rng.random() < LATE_RETRY]
            driver = Driver(installation.bases)
            rush_started = time.monotonic()
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                futures = [pool.submit(driver.deliver, c, target) for c, target in deliveries]

                def delivered(share: float) -> bool:
                    return sum(f.done() for f in futures) >= share * len(futures)

                wait_for("40% of the deliveries", lambda: delivered(0.4))
                installation.kill("web0")  # a web process dies mid-rush, requests in flight
                remind = ["-m", "scheduler", "run", "busy_reminder", "--at", now.isoformat()]
                reminders = [installation.start(f"remind{i}", remind) for i in range(2)]
                wait_for("65% of the deliveries", lambda: delivered(0.65))
                installation.start_web(0)  # back on the same port
                wait_for("the restarted web process", lambda: serving(installation.bases[0]))
                for future in futures:
                    future.result()
                for future in [pool.submit(driver.deliver, c, target) for c, target in late]:
                    future.result()  # WeCom's retries after the rush
            rush_seconds = time.monotonic() - rush_started
            assert driver.failovers  # the kill was felt: deliveries went to the other process
            for process in reminders:
                assert process.wait(timeout=WAIT) == 0
            added = [
                int(re.search(r"新增 (\d+) 条", installation.output(f"remind{i}")).group(1))
                for i in range(2)
            ]
            assert sum(added) == MENTORS  # two runs at once: each mentor reminded once

            def settled() -> bool:
                unsent = OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
                with database.session() as session:
                    return not session.scalar(sa.select(sa.func.count()).where(unsent))

            wait_for("the outbox to drain", settled)
            total_seconds = time.monotonic() - started
            check_acted_on_once(database, day, callbacks)
            check_sent_once(database, fake, day)
            check_one_scheduler(installation)
            calls = sum(len(fake.calls(f"message/{e}")) for e in ("send", "update_template_card"))
            sent = 'mentorbot_sends_total{errcode="0"}'
            runs = 'mentorbot_job_runs_total{job="%s",outcome="%s"}'
            for base in installation.bases:  # each web process shows the installation's counts
                text = requests.get(base + "/metrics", timeout=10).text
                assert metric(text, sent) - metric(before, sent) == calls
                assert metric(text, runs % ("busy_reminder", "ok")) == 2
                assert metric(text, runs % ("busy_rating_cards", "ok")) >= 1
                assert metric(text, runs % ("busy_rating_cards", "failed")) == 0
        finally:
            installation.stop_all()
    print(
        f"\n{len(callbacks)} callbacks, {driver.posts} posts ({driver.failovers} failed over), "
        f"{calls} API calls; setup {setup_seconds:.1f} s, rush {rush_seconds:.1f} s, "
        f"all {total_seconds:.1f} s"
    )


def check_acted_on_once(database: Any, day: Day, callbacks: list[Callback]) -> None:
    texts = [c for c in callbacks if c.kind == "text"]
    taps = [c for c in callbacks if c.kind == "tap"]
    with database.session() as session:
        keys = session.scalars(sa.select(ProcessedCallback.dedupe_key)).all()
        assert Counter(keys) == Counter(c.dedupe_key for c in callbacks)
        # every text logged one contact, with the student it named
        contacts = session.execute(
            sa.select(Record.mentor_id, RecordParticipant.student_id)
            .join(RecordParticipant, RecordParticipant.record_id == Record.id)
            .where(Record.kind == RecordKind.CONTACT)
        ).all()
        student_ids = day.student_ids
        expected = Counter((day.mentor_ids[c.userid], student_ids[c.student]) for c in texts)
        assert Counter(tuple(row) for row in contacts) == expected
        # every student's rating is stored once, with the level tapped
        ratings = session.execute(
            sa.select(Rating.record_id, Rating.student_id, Rating.level)
        ).all()
        wanted = {(c.record_id, student_ids[c.userid], c.level) for c in taps}
        assert sorted(tuple(r) for r in ratings) == sorted(wanted)
        assert len(wanted) == len(student_ids)
        # each callback left exactly one answer: a reply, or the tapped card's update
        rows = session.scalars(sa.select(OutboxMessage.key)).all()
    answers = Counter(
        key.split(":", 1)[1].rsplit(":", 1)[0]
        for key in rows
        if key.startswith(("reply:", "card:"))
    )
    assert answers == Counter(c.dedupe_key for c in callbacks)
    assert not [key for key in rows if key.startswith("error:")]  # no handler failed


def check_sent_once(database: Any, fake: FakeWeCom, day: Day) -> None:
    with database.session() as session:
        rows = list(session.scalars(sa.select(OutboxMessage)))
    assert Counter(row.status for row in rows) == {OutboxStatus.SENT: len(rows)}
    queued: dict[str, Counter[tuple[str, str]]] = {}
    for row in rows:
        queued.setdefault(row.userid, Counter())[row_shape(row)] += 1
    people = set(day.mentor_ids) | set(day.student_ids)
    received = {
        userid: Counter(delivered_shape(item, fake) for item in fake.sent_to(userid))
        for userid in people
    }
    # Every message differs from the others of its person: the sender sends identical due
    # messages together (one call, the person named twice) and WeCom delivers it once, as its
    # duplicate check would anyway; here each queued row must arrive exactly once.
    differences = {
        userid: (
            received[userid] - queued.get(userid, Counter()),
            queued.get(userid, Counter()) - received[userid],
        )
        for userid in people
        if received[userid] != queued.get(userid, Counter())
    }
    assert not differences, list(differences.items())[:3]
    reminder = ("text", busy_day_jobs.REMINDER)
    assert all(received[mentor][reminder] == 1 for mentor in day.mentor_ids)
    for student in day.student_ids:
        assert sum(n for (kind, _), n in received[student].items() if kind == "template_card") == 1
        assert (
            sum(n for (kind, _), n in received[student].items() if kind == "update_template_card")
            == 1
        )


def check_one_scheduler(installation: Installation) -> None:
    outputs = [installation.output(f"scheduler{index}") for index in range(2)]
    active = [index for index, text in enumerate(outputs) if "调度进程已启动" in text]
    assert len(active) == 1, outputs
    idle = 1 - active[0]
    assert "另一个调度进程正在运行" in outputs[idle]
    assert '"job_ran"' in installation.output(f"scheduler{active[0]}", "err")
    assert '"job_ran"' not in installation.output(f"scheduler{idle}", "err")
