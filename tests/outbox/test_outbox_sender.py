"""The sender against the fake WeCom API: batching, limits, backoff, dead letters, alerts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.core.models import OutboxMessage, OutboxStatus, Role
from bot.outbox.commands import retry_dead
from bot.outbox.lease import MAX_ATTEMPTS
from bot.outbox.queue import Message, enqueue
from bot.outbox.ratelimit import PER_MINUTE, RateLimiter
from bot.outbox.sender import drain_once
from tests.factories import add_person

NOW = datetime(2026, 3, 10, 2, 7, tzinfo=UTC)  # 10:07 in Shanghai


def _enqueue(database, userids, text="您好", key="test", now=NOW) -> int:
    with database.session() as session:
        return enqueue(session, userids, Message.text(text), key=key, now=now)


def _drain(app, wecom, now=NOW, **options):
    return drain_once(app.extensions["database"], wecom, app.extensions["redis"], now, **options)


def _rows(database) -> dict[str, OutboxMessage]:
    with database.session() as session:
        return {row.key: row for row in session.scalars(sa.select(OutboxMessage))}


def test_identical_messages_go_out_together_and_once(app, database, wecom, fake):
    assert _enqueue(database, ["zhangsan", "lisi", "wangwu"], key="a") == 3
    assert _enqueue(database, ["zhangsan", "lisi"], key="a") == 0  # same key: nothing new
    _enqueue(database, ["zhangsan"], text="另一条", key="b")
    report = _drain(app, wecom)
    assert (report.claimed, report.sent, report.calls) == (4, 4, 2)
    assert sorted(d.content["content"] for d in fake.sent_to("zhangsan")) == ["另一条", "您好"]
    assert _drain(app, wecom, NOW + timedelta(hours=1)).claimed == 0
    assert all(row.status == OutboxStatus.SENT for row in _rows(database).values())
    # a first attempt asks no duplicate check: a repeated answer (a second 帮助) must arrive
    assert "enable_duplicate_check" not in fake.last_body("message/send")


def test_throttled_45009_backs_off_a_minute_then_delivers(app, database, wecom, fake):
    _enqueue(database, ["zhangsan", "lisi"])
    fake.inject_fault("message/send", errcode=45009)
    report = _drain(app, wecom)
    assert report.sent == 0 and report.errors == {"errcode 45009": 1}
    row = _rows(database)["test:zhangsan"]
    assert row.status == OutboxStatus.PENDING and row.available_at >= NOW + timedelta(seconds=60)
    assert _drain(app, wecom, NOW + timedelta(seconds=59)).claimed == 0
    assert _drain(app, wecom, NOW + timedelta(seconds=61)).sent == 2
    assert len(fake.sent_to("zhangsan")) == 1 and len(fake.sent_to("lisi")) == 1


def test_a_hanging_api_times_out_backs_off_then_delivers(app, database, wecom, fake):
    _enqueue(database, ["zhangsan"])
    fake.inject_fault("message/send", hang=True)
    report = _drain(app, wecom)
    assert report.sent == 0 and "WeComTimeout" in report.errors
    fake.release_hangs()  # the hung call answers late; WeCom's duplicate check covers it
    deadline = time.monotonic() + 5
    while not fake.sent_to("zhangsan") and time.monotonic() < deadline:
        time.sleep(0.02)  # the hung call is answered late and delivers
    row = _rows(database)["test:zhangsan"]
    assert row.status == OutboxStatus.PENDING and row.available_at == NOW + timedelta(seconds=30)
    assert _drain(app, wecom, NOW + timedelta(seconds=31)).sent == 1
    body = fake.last_body("message/send")  # the resend asks the check, for two leases
    assert (body["enable_duplicate_check"], body["duplicate_check_interval"]) == (1, 600)
    assert len(fake.sent_to("zhangsan")) == 1  # WeCom dropped the identical resend


def test_invaliduser_fails_that_person_only(app, database, wecom, fake):
    _enqueue(database, ["zhangsan", "ghost"])
    report = _drain(app, wecom)
    assert (report.sent, report.failed) == (1, 1)
    rows = _rows(database)
    assert rows["test:ghost"].status == OutboxStatus.FAILED
    assert rows["test:ghost"].last_error == "invaliduser"
    assert _drain(app, wecom, NOW + timedelta(days=1)).claimed == 0


def test_per_person_limit_defers_the_excess_to_the_next_minute(app, database, wecom, fake):
    for number in range(35):
        _enqueue(database, ["zhangsan"], text=f"第{number}条", key=f"k{number}")
    report = _drain(app, wecom)
    assert (report.sent, report.deferred) == (30, 5)
    assert _drain(app, wecom, NOW + timedelta(seconds=61)).sent == 5
    assert len(fake.sent_to("zhangsan")) == 35


def test_the_app_call_budget_is_shared(app):
    limiter = RateLimiter(app.extensions["redis"])
    other_sender = RateLimiter(app.extensions["redis"])
    assert limiter.try_call(NOW, per_minute=2) is None
    assert other_sender.try_call(NOW, per_minute=2) is None
    assert limiter.try_call(NOW, per_minute=2) == NOW + timedelta(minutes=1)
    assert other_sender.try_call(NOW + timedelta(seconds=59), per_minute=2) is not None
    assert limiter.try_call(NOW + timedelta(minutes=1), per_minute=2) is None


def test_the_app_call_budget_holds_across_a_clock_minute(app):
    """Calls late in one clock-minute and early in the next share one 60 s window: the
    budget is never spent twice over in any minute."""
    limiter = RateLimiter(app.extensions["redis"])
    late = NOW + timedelta(seconds=50)  # 10:07:50
    assert [limiter.try_call(late, per_minute=3) for _ in range(3)] == [None] * 3
    early_next = NOW + timedelta(seconds=70)  # 10:08:10, a new clock-minute
    assert limiter.try_call(early_next, per_minute=3) == late + timedelta(minutes=1)
    assert limiter.try_call(late + timedelta(minutes=1), per_minute=3) is None
    # a refusal takes nothing: exactly two calls are left once the first three have aged out
    assert limiter.try_call(late + timedelta(minutes=1), per_minute=3) is None
    assert limiter.try_call(late + timedelta(minutes=1), per_minute=3) is None
    assert limiter.try_call(late + timedelta(minutes=1), per_minute=3) is not None


def test_a_spent_call_budget_defers_without_losing_anything(
    app, database, wecom, fake, monkeypatch
):
    real = RateLimiter.try_call
    monkeypatch.setattr(RateLimiter, "try_call", lambda self, now: real(self, now, per_minute=1))
    _enqueue(database, ["zhangsan"], key="a")
    _enqueue(database, ["lisi"], text="另一条", key="b")
    report = _drain(app, wecom)
    assert (report.sent, report.deferred, report.calls) == (1, 1, 1)
    assert _drain(app, wecom, NOW + timedelta(seconds=61)).sent == 1


def test_claims_are_bounded_so_memory_stays_flat(app, database, wecom, fake):
    _enqueue(database, [f"u{n}" for n in range(50)], key="many")
    for userid in (f"u{n}" for n in range(50)):
        fake.add_user(userid, userid)
    claimed = [_drain(app, wecom, limit=20).claimed for _ in range(4)]
    assert claimed == [20, 20, 10, 0]
    assert sum(len(fake.sent_to(f"u{n}")) for n in range(50)) == 50


def _die(app, wecom, fake, start):
    """Drain with the API failing until the rows are dead; returns the last report."""
    now = start
    for _ in range(MAX_ATTEMPTS):
        fake.inject_fault("message/send", errcode=-1)
        report = _drain(app, wecom, now)
        now += timedelta(hours=3)
    return report, now


def test_dead_letters_alert_the_administrators_once_without_looping(app, database, wecom, fake):
    with database.session() as session:
        add_person(session, "sysadmin", "马骏", Role.SYSTEM_ADMIN)
        add_person(session, "shuyuan_admin", "林晓雪", Role.ACADEMY_ADMIN)
        add_person(session, "zhangsan", "张三", Role.STUDENT)
    _enqueue(database, ["zhangsan", "lisi"])
    seen = []
    report, now = _die_with_hook(app, wecom, fake, seen)
    assert report.dead == 2 and len(seen) == 2
    rows = _rows(database)
    assert rows["test:zhangsan"].status == OutboxStatus.DEAD
    alerts = {key: row for key, row in rows.items() if key.startswith("alert:")}
    assert {row.userid for row in alerts.values()} == {"sysadmin", "shuyuan_admin"}
    text = next(iter(alerts.values())).payload["text"]["content"]
    assert "2 条消息" in text and "errcode -1" in text and "您好" not in text

    # the alerts themselves die: nobody is alerted about them
    report, now = _die(app, wecom, fake, now)
    rows = _rows(database)
    assert {row.status for key, row in rows.items() if key.startswith("alert:")} == {
        OutboxStatus.DEAD
    }
    assert len([key for key in rows if key.startswith("alert:")]) == 2

    # operators put them back; they go out
    assert retry_dead(database, now) == 4
    assert _drain(app, wecom, now).sent == 4


def _die_with_hook(app, wecom, fake, seen):
    now = NOW
    report = None
    for _ in range(MAX_ATTEMPTS):
        fake.inject_fault("message/send", errcode=-1)
        report = _drain(app, wecom, now, on_dead=seen.extend)
        now += timedelta(hours=3)
    return report, now


def test_dead_letter_commands(app, database, runner):
    _enqueue(database, ["zhangsan"])
    with database.session() as session:
        session.execute(
            sa.update(OutboxMessage).values(status=OutboxStatus.DEAD, last_error="errcode -1: busy")
        )
    result = runner.invoke(args=["outbox", "dead"])
    assert "test:zhangsan" in result.output and "死信共 1 条" in result.output
    assert "您好" not in result.output
    result = runner.invoke(args=["outbox", "retry-dead"])
    assert "已重新排队 1 条死信" in result.output
    assert _rows(database)["test:zhangsan"].status == OutboxStatus.PENDING


def test_a_card_held_back_for_one_person_reaches_them_later_once(app, database, wecom, fake):
    """task_id is single-use: the later call for the rest of a card gets its own, while a
    crash-resend of the first call still meets 42014 and is not doubled."""
    from bot.wecom import cards

    card = cards.text_notice("评价提醒", url="http://127.0.0.1/x", task_id="rate-1-abc")
    with database.session() as session:
        enqueue(session, ["zhangsan", "lisi"], Message.template_card(card), key="card", now=NOW)
    limiter = RateLimiter(app.extensions["redis"])
    for _ in range(PER_MINUTE):
        limiter.try_take("lisi", NOW)
    first = _drain(app, wecom)
    assert (first.sent, first.deferred) == (1, 1)
    later = NOW + timedelta(minutes=2)
    assert _drain(app, wecom, later).sent == 1
    [to_zhangsan] = fake.sent_to("zhangsan")
    [to_lisi] = fake.sent_to("lisi")
    assert to_zhangsan.content["task_id"] == "rate-1-abc"
    assert to_lisi.content["task_id"].startswith("rate-1-abc-r")

    with database.session() as session:  # a crash after the first call: sent again
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.userid == "zhangsan")
            .values(status=OutboxStatus.PENDING, available_at=later)
        )
    assert _drain(app, wecom, later).sent == 1  # 42014: it went out before
    assert len(fake.sent_to("zhangsan")) == 1


def test_42014_is_sent_only_for_the_rows_own_task_id_else_failed_and_alerted(
    app, database, wecom, fake
):
    """42014 also means a task_id used by another card (or empty, over-long, malformed): only
    a row whose own earlier attempt carried the task_id counts as sent; the others fail and
    the administrators are told."""
    from bot.wecom import cards

    with database.session() as session:
        add_person(session, "sysadmin", "马骏", Role.SYSTEM_ADMIN)
    first = cards.text_notice("评价提醒", url="http://127.0.0.1/x", task_id="same-task")
    second = cards.text_notice("另一张卡片", url="http://127.0.0.1/y", task_id="same-task")
    with database.session() as session:
        enqueue(session, ["zhangsan"], Message.template_card(first), key="one", now=NOW)
    assert _drain(app, wecom).sent == 1
    with database.session() as session:
        enqueue(session, ["lisi"], Message.template_card(second), key="two", now=NOW)
    report = _drain(app, wecom)
    assert (report.sent, report.failed) == (0, 1)
    assert report.errors == {"errcode 42014": 1}
    rows = _rows(database)
    assert rows["two:lisi"].status == OutboxStatus.FAILED
    assert rows["two:lisi"].last_error.startswith("errcode 42014")
    assert fake.sent_to("lisi") == []
    [alert] = [row for key, row in rows.items() if key.startswith("alert:task-id:")]
    assert alert.userid == "sysadmin"
    text = alert.payload["text"]["content"]
    assert "1 张卡片消息被企业微信拒绝" in text and "42014" in text and "two" in text

    with database.session() as session:  # the first card's row, resent after a crash
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.key == "one:zhangsan")
            .values(status=OutboxStatus.PENDING, available_at=NOW)
        )
    report = _drain(app, wecom, NOW + timedelta(minutes=1))
    assert (report.sent, report.failed, report.errors) == (2, 0, {})  # and the alert
    assert _rows(database)["one:zhangsan"].status == OutboxStatus.SENT
    assert len(fake.sent_to("zhangsan")) == 1
