"""Each person's messages arrive in the order they were queued: a row held by the per-person
limit is not overtaken by a later row of that person, not even an urgent reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.models import OutboxMessage, Role
from bot.outbox import order
from bot.outbox.queue import Message, enqueue
from bot.outbox.ratelimit import PER_MINUTE
from bot.outbox.sender import drain_once
from bot.wecom import cards
from tests.factories import WeComCaller, add_person


def _drain(app, wecom, now):
    return drain_once(app.extensions["database"], wecom, app.extensions["redis"], now)


def _card(title: str) -> Message:
    return Message.template_card(
        cards.text_notice(title, desc="请点选", url="https://bot.example.edu/m/rate")
    )


def test_a_reply_does_not_overtake_a_card_held_by_the_limit(app, client, database, wecom, fake):
    with database.session() as session:
        add_person(session, "zhangsan", "张三", Role.STUDENT)
    phone = WeComCaller(app, client)
    for _ in range(PER_MINUTE):  # a busy minute: 30 answers fill the per-person limit
        assert phone.text("zhangsan", "帮助").status_code == 200
    start = datetime.now(UTC) + timedelta(seconds=1)
    assert _drain(app, wecom, start).sent == PER_MINUTE
    with database.session() as session:  # then the next rating card (not urgent) is held
        enqueue(session, ["zhangsan"], _card("请评价读书沙龙"), key="card", now=start,
                urgent=False)  # fmt: skip
    assert _drain(app, wecom, start + timedelta(seconds=1)).deferred == 1
    assert phone.text("zhangsan", "帮助").status_code == 200  # an urgent reply after the card
    report = _drain(app, wecom, start + timedelta(seconds=2))
    assert (report.sent, report.deferred) == (0, 1)  # it waits for the card held before it
    report = _drain(app, wecom, start + timedelta(seconds=61))
    assert report.sent == 2
    received = fake.sent_to("zhangsan")[-2:]
    assert [d.msgtype for d in received] == ["template_card", "text"]  # as queued


def test_rows_of_a_person_behind_a_held_row_wait_with_it():
    def row(row_id: int, userid: str) -> OutboxMessage:
        return OutboxMessage(id=row_id, userid=userid)

    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    later = at + timedelta(minutes=1)
    rows = [row(1, "a"), row(2, "B"), row(3, "b"), row(4, "A"), row(5, "c")]
    # b's row 2 is refused by the limit; a has a row held before this claim (id 0)
    send, deferred, give_back = order.keep_order(
        rows, [None, later, None, None, None], {"a": (0, at)}
    )
    assert [r.id for r in send] == [5]
    assert [(r.id, when) for r, when in deferred] == [(1, at), (2, later), (3, later), (4, at)]
    assert [r.id for r in give_back] == [1, 3, 4]  # their places in the limit go back
    assert order.waves([row(1, "a"), row(2, "b"), row(3, "A"), row(4, "a")]) == [0, 0, 1, 2]


def test_card_updates_sharing_a_response_code_wait_and_go_together():
    """WeCom takes a response_code once: when one person's part of an update must wait, the
    whole update waits, and it goes in one wave (after every earlier row of its people)."""

    def row(row_id: int, userid: str, msgtype: str = "text", payload: str = "") -> OutboxMessage:
        return OutboxMessage(
            id=row_id, userid=userid, msgtype=msgtype, payload_hash=payload or f"t{row_id}"
        )

    at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    later = at + timedelta(minutes=1)
    update = "update_template_card"
    rows = [row(1, "b"), row(2, "a", update, "u"), row(3, "b", update, "u"), row(4, "c")]
    takes = [None, None, later, None]  # b's update is refused by the limit
    send, deferred, _ = order.keep_order(rows, takes, {})
    joined = order.together(rows, takes, send, deferred)
    assert joined == [None, later, later, None]  # a's part of the update waits with b's
    send, deferred, _ = order.keep_order(rows, joined, {})
    assert [r.id for r in send] == [1, 4] and order.together(rows, joined, send, deferred) == joined
    sending = [rows[0], rows[1], rows[2], rows[3]]
    assert order.update_waves(sending, order.waves(sending)) == [0, 1, 1, 0]
