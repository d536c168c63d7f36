"""WeCom's per-person limits over any 60 s and any 3,600 s, shared by every sender (Redis)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import OutboxMessage, OutboxStatus
from bot.core.redis_store import RedisStore
from bot.outbox.queue import Message, enqueue
from bot.outbox.ratelimit import PER_HOUR, PER_MINUTE, RATE_KEY_TTL, RateLimiter
from bot.outbox.sender import drain_once

NOW = datetime(2026, 3, 10, 2, 7, tzinfo=UTC)  # 10:07 in Shanghai
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def limiter(app) -> RateLimiter:
    return RateLimiter(app.extensions["redis"])


def _taken(answers: list[datetime | None]) -> int:
    return sum(answer is None for answer in answers)


def test_a_minute_boundary_does_not_double_the_per_minute_limit(limiter):
    late = NOW.replace(second=59)  # hh:mm:59
    assert limiter.try_take_many(["zhangsan"] * PER_MINUTE, late) == [None] * PER_MINUTE
    next_minute = late + SECOND  # hh:(mm+1):00: a fresh clock-minute, but the same 60 s
    until = late + MINUTE  # hh:(mm+1):59, when the first 30 leave the window
    assert limiter.try_take_many(["zhangsan"] * PER_MINUTE, next_minute) == [until] * PER_MINUTE
    assert limiter.try_take("zhangsan", until - timedelta(milliseconds=1)) == until
    assert limiter.try_take_many(["zhangsan"] * (PER_MINUTE + 1), until) == [None] * PER_MINUTE + [
        until + MINUTE
    ]
    assert limiter.try_take("lisi", next_minute) is None  # per person


def test_the_retry_time_is_when_the_oldest_message_leaves_the_minute(limiter):
    for offset in (0, 20, 40):
        assert _taken(limiter.try_take_many(["zhangsan"] * 10, NOW + offset * SECOND)) == 10
    assert limiter.try_take("zhangsan", NOW + 50 * SECOND) == NOW + MINUTE
    answers = limiter.try_take_many(["zhangsan"] * 11, NOW + MINUTE)
    assert answers == [None] * 10 + [NOW + 80 * SECOND]


def test_the_hourly_limit_holds_over_any_hour(limiter):
    start = NOW.replace(minute=30)  # the hour is counted from here, not from the clock-hour
    per_minute = 25  # 25 a minute for 40 minutes: 1,000, never 30 within one minute
    for minute in range(PER_HOUR // per_minute):
        answers = limiter.try_take_many(["zhangsan"] * per_minute, start + minute * MINUTE)
        assert answers == [None] * per_minute
    after_hour_boundary = start + timedelta(minutes=45)  # 03:15: a new clock-hour
    back_at = start + timedelta(hours=1)  # when the first 25 leave the hour
    assert limiter.try_take("zhangsan", after_hour_boundary) == back_at
    assert limiter.try_take("zhangsan", back_at - timedelta(milliseconds=1)) == back_at
    answers = limiter.try_take_many(["zhangsan"] * (per_minute + 1), back_at)
    assert answers == [None] * per_minute + [back_at + MINUTE]  # the next 25 leave a minute on
    assert limiter.try_take("lisi", after_hour_boundary) is None


def test_when_both_windows_are_full_the_later_retry_time_wins(app):
    limiter = RateLimiter(app.extensions["redis"], per_minute=3, per_hour=6)
    assert _taken(limiter.try_take_many(["zhangsan"] * 3, NOW)) == 3
    assert _taken(limiter.try_take_many(["zhangsan"] * 3, NOW + MINUTE)) == 3
    assert limiter.try_take("zhangsan", NOW + 70 * SECOND) == NOW + timedelta(hours=1)

    limiter = RateLimiter(app.extensions["redis"], per_minute=3, per_hour=4)
    assert limiter.try_take("lisi", NOW) is None
    later = NOW + timedelta(minutes=59, seconds=30)
    assert _taken(limiter.try_take_many(["lisi"] * 3, later)) == 3
    assert limiter.try_take("lisi", later + 10 * SECOND) == later + MINUTE


def test_give_back_frees_the_capacity_it_took(limiter):
    assert _taken(limiter.try_take_many(["zhangsan"] * PER_MINUTE, NOW)) == PER_MINUTE
    assert limiter.try_take("zhangsan", NOW) is not None
    limiter.give_back([OutboxMessage(userid="zhangsan")] * 5, NOW)
    answers = limiter.try_take_many(["zhangsan"] * 6, NOW)
    assert answers == [None] * 5 + [NOW + MINUTE]
    limiter.give_back([OutboxMessage(userid="lisi")], NOW)  # nothing taken: nothing to free
    assert _taken(limiter.try_take_many(["lisi"] * (PER_MINUTE + 1), NOW)) == PER_MINUTE


def test_logs_are_bounded_and_expire(app, limiter):
    store = app.extensions["redis"]
    key = store.key("rate", "log", "zhangsan")
    limiter.try_take_many(["zhangsan"] * 5, NOW)
    assert 0 < store.client.ttl(key) <= RATE_KEY_TTL
    limiter.try_take("zhangsan", NOW + timedelta(hours=1))  # the first five are an hour old
    assert store.client.zcard(key) == 1
    refused = RateLimiter(store, per_minute=1)
    assert refused.try_take("lisi", NOW) is None and refused.try_take("lisi", NOW) is not None
    assert store.client.zcard(store.key("rate", "log", "lisi")) == 1  # a refusal logs nothing


def test_concurrent_senders_never_exceed_the_limits_together(app, redis_url, redis_prefix):
    """Senders with connections of their own (a real Redis when REDIS_URL is set) reserve for
    the same people at once; together they get exactly the limit."""
    senders, rounds = 6, 15
    start = threading.Barrier(senders)
    taken: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def reserve() -> None:
        limiter = RateLimiter(RedisStore(redis_url, redis_prefix))
        mine: Counter[str] = Counter()
        try:
            start.wait()
            for round_ in range(rounds):
                userids = ["zhangsan", "lisi", "zhangsan", "wangwu", "zhangsan"]
                now = NOW + round_ * timedelta(milliseconds=10)
                for userid, answer in zip(
                    userids, limiter.try_take_many(userids, now), strict=True
                ):
                    if answer is None:
                        mine[userid] += 1
                for _ in range(2):
                    if limiter.try_take("wangwu", now) is None:
                        mine["wangwu"] += 1
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        with lock:
            taken.update(mine)

    threads = [threading.Thread(target=reserve) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert taken == {"zhangsan": PER_MINUTE, "lisi": PER_MINUTE, "wangwu": PER_MINUTE}
    assert RateLimiter(app.extensions["redis"]).try_take("zhangsan", NOW + SECOND) is not None


def test_one_call_to_many_people_counts_one_message_for_each(app, database, wecom, fake):
    with database.session() as session:
        enqueue(session, ["zhangsan", "lisi", "wangwu"], Message.text("您好"), key="a", now=NOW)
    report = drain_once(database, wecom, app.extensions["redis"], NOW)
    assert (report.sent, report.calls) == (3, 1)
    limiter = RateLimiter(app.extensions["redis"])
    for userid in ("zhangsan", "lisi", "wangwu"):
        answers = limiter.try_take_many([userid] * PER_MINUTE, NOW)
        assert answers == [None] * (PER_MINUTE - 1) + [NOW + MINUTE]


def test_drain_once_defers_the_excess_until_the_window_has_room(app, database, wecom, fake):
    store = app.extensions["redis"]
    late = NOW.replace(second=59)
    for number in range(PER_MINUTE):
        with database.session() as session:
            enqueue(
                session, ["zhangsan"], Message.text(f"第{number}条"), key=f"a{number}", now=late
            )
    assert drain_once(database, wecom, store, late).sent == PER_MINUTE
    next_minute = late + SECOND
    for number in range(5):
        with database.session() as session:
            enqueue(
                session,
                ["zhangsan"],
                Message.text(f"又{number}条"),
                key=f"b{number}",
                now=next_minute,
            )
    report = drain_once(database, wecom, store, next_minute)
    assert (report.sent, report.deferred) == (0, 5)
    with database.session() as session:
        waiting = session.query(OutboxMessage).filter_by(status=OutboxStatus.PENDING).all()
        assert {row.available_at.replace(tzinfo=UTC) for row in waiting} == {late + MINUTE}
        assert {row.attempts for row in waiting} == {0}
    assert drain_once(database, wecom, store, late + MINUTE - SECOND).claimed == 0
    assert drain_once(database, wecom, store, late + MINUTE).sent == 5
    assert len(fake.sent_to("zhangsan")) == PER_MINUTE + 5
