"""Rating cards close at their deadline (issue 17), end to end: cards sent through the outbox to
the simulator keep the response_code message/send answered; when the window ends, the card of
everyone who has not answered shows "已截止"; WeCom's 72 hours bound which cards can be updated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import OutboxMessage, OutboxStatus, RatingRequest
from bot.outbox import sender
from bot.outbox.queue import Message, enqueue
from bot.ratings import jobs
from tests.live import LiveApp, serve
from tests.ratings.conftest import POLICY, add_activity
from tests.records.conftest import build_world

FOUR = ["zhangsan", "lisi", "zhousong", "wangwu1"]


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        world = build_world(get_database(live.app))
        for userid in (*FOUR, "wangwu2", "zhaoliu", "wanglaoshi", "cs_admin", "academy"):
            live.simulator.state.add_user(userid, userid)
        live.world = world  # type: ignore[attr-defined]
        yield live


def _drain(live: LiveApp, now: datetime) -> sender.DrainReport:
    return sender.drain_once(
        live.app.extensions["database"],
        live.app.extensions["wecom_client"],
        live.app.extensions["redis"],
        now,
        files=live.files,
    )


def _cards(live: LiveApp, userid: str) -> list[dict]:
    return [
        entry
        for entry in live.simulator.conversation(userid)
        if entry["direction"] == "out" and entry["msgtype"] == "template_card"
    ]


def _tap(live: LiveApp, userid: str, card: dict, text: str) -> None:
    payload = card["payload"]
    key = next(b["key"] for b in payload["button_list"] if b["text"] == text)
    status = live.simulator.tap_card(
        userid,
        task_id=payload["task_id"],
        card_type=payload["card_type"],
        event_key=key,
        selected=[],
    )
    assert status == 200


def test_unanswered_cards_show_closed_when_the_window_ends(live):
    policy = replace(POLICY, window=timedelta(days=2))
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    assert _drain(live, now).sent == 4
    with database.session() as session:
        codes = set(
            session.scalars(
                sa.select(OutboxMessage.response_code).where(
                    OutboxMessage.msgtype == "template_card"
                )
            )
        )
    assert len(codes) == 1 and None not in codes  # one call, its code kept on every row
    [card] = _cards(live, "zhangsan")
    _tap(live, "zhangsan", card, "满意")
    _drain(live, datetime.now(UTC))
    assert _cards(live, "zhangsan")[0]["replaced_text"] == "已评价：满意，谢谢！"

    assert jobs.close_rating_cards(database, now + timedelta(days=1)) == 0  # still open
    ended = now + timedelta(days=2, minutes=5)
    assert jobs.close_rating_cards(database, ended) == 3
    assert jobs.close_rating_cards(database, ended) == 0  # a second run adds nothing
    report = _drain(live, ended)
    assert report.sent == 3 and report.calls == 1  # one update_template_card, the send's code
    for userid in ("lisi", "zhousong", "wangwu1"):
        assert _cards(live, userid)[0]["replaced_text"] == "已截止"
    assert _cards(live, "zhangsan")[0]["replaced_text"] == "已评价：满意，谢谢！"


def test_cards_older_than_wecoms_72_hours_are_left_and_a_late_tap_closes_its_own(live):
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=POLICY) == 4  # the 7-day window
    _drain(live, now)
    ended = now + POLICY.window + timedelta(minutes=5)
    assert jobs.close_rating_cards(database, ended) == 0  # the send's code has expired by then
    assert "replaced_text" not in _cards(live, "lisi")[0]
    # a tap after the window (the callback's clock is real time: the window is moved back)
    # is refused, and that tap's own code closes the card
    [card] = _cards(live, "lisi")
    with database.session() as session:
        session.execute(sa.update(RatingRequest).values(expires_at=now - timedelta(minutes=1)))
    _tap(live, "lisi", card, "满意")
    _drain(live, datetime.now(UTC))
    [card] = _cards(live, "lisi")
    assert card["replaced_text"] == "已截止"
    texts = [
        e["payload"]["content"]
        for e in live.simulator.conversation("lisi")
        if e["direction"] == "out" and e["msgtype"] == "text"
    ]
    assert texts == ["这项活动的评价已截止，本次点选未记录。"]


@pytest.mark.parametrize("expired", [False, True], ids=["code-used", "code-expired"])
def test_a_closing_update_held_by_the_limit_then_refused_is_nothing_to_do(live, expired):
    """lisi got 30 messages this minute, so her closing update waits while the others' goes
    out with the send-time code, which WeCom takes once; later her update meets the code used
    (or, past WeCom's 72 hours, expired): her card cannot be updated any more. That is nothing
    to retry: no dead letter, no alert to the administrators."""
    policy = replace(POLICY, window=timedelta(days=2))
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    assert _drain(live, now).sent == 4
    ended = now + timedelta(days=2, minutes=5)
    with database.session() as session:
        for number in range(30):  # queued before the closing update: lisi's minute is full
            enqueue(session, ["lisi"], Message.text(f"通知{number}"), key=f"n{number}", now=ended)
    assert jobs.close_rating_cards(database, ended) == 4
    report = _drain(live, ended)
    assert report.deferred == 1  # lisi's update, behind her 30 messages
    for userid in ("zhangsan", "zhousong", "wangwu1"):
        assert _cards(live, userid)[0]["replaced_text"] == "已截止"
    if expired:
        live.simulator.state.expire_response_codes()
    report = _drain(live, ended + timedelta(minutes=2))
    assert (report.calls, report.lapsed, report.dead, report.errors) == (1, 1, 0, {})
    assert "replaced_text" not in _cards(live, "lisi")[0]
    with database.session() as session:
        row = session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.msgtype == "update_template_card", OutboxMessage.userid == "lisi"
            )
        ).one()
        alerts = session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.key.startswith("alert:"))
        )
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert row.last_error.startswith(
        "response_code spent: errcode " + ("60140" if expired else "42022")
    )
    assert alerts == 0
    assert _drain(live, ended + timedelta(days=1)).claimed == 0  # never tried again


def test_without_a_callback_url_wecom_refuses_the_rating_cards(live):
    """The simulator as strict as WeCom: an app whose 接收消息 (callback URL) is not set may
    send texts but no card a person answers; WeCom answers 43012 (应用需配置回调url)."""
    live.simulator.state.callback_url = None
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=POLICY) == 4
    report = _drain(live, now)
    assert (report.sent, report.answers) == (0, {"43012": 1})
    with database.session() as session:
        errors = set(session.scalars(sa.select(OutboxMessage.last_error)))
    assert len(errors) == 1 and errors.pop().startswith("errcode 43012")
    assert all(_cards(live, userid) == [] for userid in FOUR)
