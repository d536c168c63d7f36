"""Rating cards close at their deadline (issue 17), end to end: cards sent through the outbox to
the simulator keep the response_code message/send answered; when the window ends, the card of
everyone who has not answered shows "已截止"; WeCom's 72 hours bound which cards can be updated."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import OutboxMessage, OutboxStatus, RatingRequest
from bot.outbox import sender
from bot.outbox.queue import Message, enqueue
from bot.ratings import jobs
from tests.live import LiveApp
from tests.ratings.conftest import FOUR, POLICY, add_activity


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


def _fill_the_minute(live: LiveApp, userid: str, now: datetime) -> None:
    """30 messages queued for ``userid``: their per-person minute is full."""
    with get_database(live.app).session() as session:
        for number in range(30):
            enqueue(session, [userid], Message.text(f"通知{number}"), key=f"n{number}", now=now)


def test_a_closing_update_waits_whole_when_one_person_is_held_by_the_limit(live):
    """lisi got 30 messages this minute, so her closing update must wait; the send-time code
    is taken once, so the update of all four waits with her and goes in one call."""
    policy = replace(POLICY, window=timedelta(days=2))
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    assert _drain(live, now).sent == 4
    ended = now + timedelta(days=2, minutes=5)
    _fill_the_minute(live, "lisi", ended)  # queued before the closing update
    assert jobs.close_rating_cards(database, ended) == 4
    report = _drain(live, ended)
    assert (report.sent, report.deferred) == (30, 4)
    assert all("replaced_text" not in _cards(live, userid)[0] for userid in FOUR)
    report = _drain(live, ended + timedelta(seconds=61))
    assert (report.sent, report.calls, report.lapsed) == (4, 1, 0)
    assert all(_cards(live, userid)[0]["replaced_text"] == "已截止" for userid in FOUR)


@pytest.mark.parametrize("spent", ["used", "expired"])
def test_a_closing_update_whose_code_is_spent_is_nothing_to_do(live, spent):
    """The closing update meets its code already used (an earlier attempt went through but
    its answer was lost) or expired (WeCom's 72 hours passed while it waited): the cards
    cannot be updated any more. Nothing to retry: no dead letter, no alert."""
    policy = replace(POLICY, window=timedelta(days=2))
    database = get_database(live.app)
    now = datetime.now(UTC)
    add_activity(database, live.world, FOUR, now=now)
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    assert _drain(live, now).sent == 4
    ended = now + timedelta(days=2, minutes=5)
    assert jobs.close_rating_cards(database, ended) == 4
    with database.session() as session:
        [code] = set(
            session.scalars(
                sa.select(OutboxMessage.response_code).where(
                    OutboxMessage.msgtype == "template_card"
                )
            )
        )
    if spent == "used":
        live.app.extensions["wecom_client"].update_template_card(FOUR, code, replace_name="已截止")
    else:
        live.simulator.state.expire_response_codes()
    report = _drain(live, ended)
    assert (report.calls, report.lapsed, report.dead, report.errors) == (1, 4, 0, {})
    with database.session() as session:
        rows = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.msgtype == "update_template_card")
        ).all()
        alerts = session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.key.startswith("alert:"))
        )
    errcode = {"used": "42022", "expired": "60140"}[spent]
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.FAILED, 1)}
    assert all(row.last_error.startswith(f"response_code spent: errcode {errcode}") for row in rows)
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
