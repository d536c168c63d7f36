"""No message fails at WeCom for its size: the outbox stores every row already within WeCom's
limits (texts cut with "…"), card updates included; an id of ours that is too long is refused
when it is enqueued, before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from bot.chat.context import Context
from bot.core.models import OutboxMessage, OutboxStatus
from bot.outbox.queue import Message, enqueue
from bot.outbox.sender import drain_once
from bot.wecom import cards
from bot.wecom.limits import LimitError

NOW = datetime(2026, 3, 10, 2, 7, tzinfo=UTC)


def _drain(app, wecom):
    return drain_once(app.extensions["database"], wecom, app.extensions["redis"], NOW)


def _rows(database) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_100_kb_text_is_stored_cut_and_delivered(app, database, wecom, fake):
    with database.session() as session:
        enqueue(session, ["zhangsan"], Message.text("字" * 35_000), key="big", now=NOW)
    [row] = _rows(database)
    content = row.payload["text"]["content"]
    assert len(content.encode("utf-8")) <= 2048 and content.endswith("字…")
    report = _drain(app, wecom)
    assert (report.sent, report.errors) == (1, {})
    [delivered] = fake.sent_to("zhangsan")
    assert delivered.content["content"] == content


def test_a_card_update_is_shaped_before_it_is_stored(app, database, wecom, fake):
    card = cards.button_interaction(
        "请确认", task_id="confirm-1", buttons=[cards.Button("ok", "确认")]
    )
    with database.session() as session:
        enqueue(session, ["zhangsan"], Message.template_card(card), key="card", now=NOW)
    assert _drain(app, wecom).sent == 1
    code = fake.issue_response_code("zhangsan", "confirm-1")
    title = "已确认：" + "很长的标题" * 100
    new = cards.button_interaction(
        title, task_id="confirm-1", buttons=[cards.Button("ok", "已确认" * 50)]
    )
    with database.session() as session:
        ctx = Context(
            person=SimpleNamespace(userid="zhangsan"),  # type: ignore[arg-type]
            session=session,
            now=NOW,
            settings=app.extensions["settings"],
            callback_key="tap-1",
        )
        ctx.update_card(code, card=new)
    stored = _rows(database)[-1].payload["update_template_card"]["template_card"]
    assert len(stored["main_title"]["title"].encode("utf-8")) <= 128
    assert _drain(app, wecom).sent == 1
    update = fake.sent_to("zhangsan")[-1]
    assert update.msgtype == "update_template_card"
    shown = update.content["main_title"]["title"]
    assert shown.startswith("已确认：很长的标题") and shown.endswith("…")
    assert len(shown.encode("utf-8")) <= 128
    button = update.content["button_list"][0]
    assert button["key"] == "ok" and len(button["text"].encode("utf-8")) <= 128


def test_an_option_id_too_long_is_refused_at_enqueue(app, database):
    card = cards.vote_interaction(
        "请选择",
        task_id="vote-1",
        question_key="q",
        options=[cards.Option("o", "张三")],
        submit_key="s",
    )
    card["checkbox"]["option_list"][0]["id"] = "o" * 200  # WeCom takes option ids of 128 bytes
    with pytest.raises(LimitError, match="option_list"), database.session() as session:
        enqueue(session, ["zhangsan"], Message.template_card(card), key="vote", now=NOW)
    assert _rows(database) == []


def test_every_stored_row_is_sendable(app, database, wecom, fake):
    messages = [
        Message.text("😀" * 3000),
        Message.markdown("**标题**\n" + "内容" * 2000),
        Message.template_card(
            cards.text_notice("通知" * 100, url="https://example.edu/n", desc="说明" * 500)
        ),
    ]
    with database.session() as session:
        for number, message in enumerate(messages):
            enqueue(session, ["lisi"], message, key=f"m{number}", now=NOW)
    report = _drain(app, wecom)
    assert (report.sent, report.errors) == (3, {})
    assert all(row.status == OutboxStatus.SENT for row in _rows(database))


def _stored_before_shaping(database, key: str, payload: dict) -> None:
    """A row as enqueue wrote it before payloads were shaped (still queued, or a dead letter
    queued again with outbox retry-dead)."""
    with database.session() as session:
        session.add(
            OutboxMessage(
                key=key,
                userid="zhangsan",
                msgtype=payload["msgtype"],
                payload=payload,
                payload_hash=key,
                urgent=True,
                status=OutboxStatus.PENDING,
                attempts=0,
                created_at=NOW,
                available_at=NOW,
            )
        )


def test_a_row_stored_before_shaping_is_sent_within_the_limit(app, database, wecom, fake):
    _stored_before_shaping(database, "old", {"msgtype": "text", "text": {"content": "字" * 35_000}})
    report = _drain(app, wecom)
    assert (report.sent, report.errors) == (1, {})
    [delivered] = fake.sent_to("zhangsan")
    assert len(delivered.content["content"].encode("utf-8")) <= 2048


def test_an_old_row_with_an_id_too_long_fails_once_and_the_sender_goes_on(
    app, database, wecom, fake
):
    card = cards.vote_interaction(
        "请选择", task_id="vote-2", question_key="q", options=[cards.Option("o", "张三")],
        submit_key="s",
    )  # fmt: skip
    card["checkbox"]["option_list"][0]["id"] = "o" * 200
    _stored_before_shaping(
        database, "old-card", {"msgtype": "template_card", "template_card": card}
    )
    _stored_before_shaping(database, "old-text", {"msgtype": "text", "text": {"content": "您好"}})
    report = _drain(app, wecom)
    assert (report.sent, report.failed, report.errors) == (1, 1, {"LimitError": 1})
    rows = {row.key: row for row in _rows(database)}
    assert rows["old-card"].status == OutboxStatus.FAILED
    assert "option_list" in rows["old-card"].last_error
    assert [d.msgtype for d in fake.sent_to("zhangsan")] == ["text"]
