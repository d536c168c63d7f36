"""The simulator end to end: every action is a signed callback over HTTP to the real endpoint,
every answer goes out through the outbox, the client and the fake API."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import OutboxMessage, OutboxStatus, Role
from tests.factories import add_person
from tests.live import LiveApp, serve


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        with database.session() as session:
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
            add_person(session, "zhangsan", "张三", Role.STUDENT)
        with live.app.app_context():
            live.simulator.state.add_user("wanglaoshi", "王老师")
            live.simulator.state.add_user("zhangsan", "张三")
        yield live


def _texts(live: LiveApp, userid: str) -> list[str]:
    return [
        entry["payload"]["content"]
        for entry in live.simulator.conversation(userid)
        if entry["direction"] == "out" and entry["msgtype"] == "text"
    ]


def _cards(live: LiveApp, userid: str) -> list[dict]:
    entries = live.simulator.conversation(userid)
    return [entry for entry in entries if entry["msgtype"] == "template_card"]


def test_text_round_trip(live):
    assert live.simulator.send_text("wanglaoshi", "帮助") == 200
    report = live.drain()
    assert report.sent == 1
    [answer] = _texts(live, "wanglaoshi")
    assert "异科导师" in answer
    entries = live.simulator.conversation("wanglaoshi")
    assert [entry["direction"] for entry in entries] == ["in", "out"]


def test_welcome_card_tap_updates_the_card_and_answers(live):
    assert live.simulator.open_app("wanglaoshi") == 200
    assert live.simulator.open_app("wanglaoshi") == 200  # once a day only
    assert live.drain().sent == 1
    [card] = [
        e for e in live.simulator.conversation("wanglaoshi") if e["msgtype"] == "template_card"
    ]
    payload = card["payload"]
    assert payload["card_type"] == "button_interaction"
    examples = next(b for b in payload["button_list"] if b["text"] == "使用示例")
    status = live.simulator.tap_card(
        "wanglaoshi",
        task_id=payload["task_id"],
        card_type="button_interaction",
        event_key=examples["key"],
        selected=[],
    )
    assert status == 200
    assert live.drain().sent == 2  # the card update and the answer
    [card] = [
        e for e in live.simulator.conversation("wanglaoshi") if e["msgtype"] == "template_card"
    ]
    assert card["replaced_text"] == "已使用示例"
    [answer] = _texts(live, "wanglaoshi")
    assert "交流 张三" in answer


def test_unknown_person_is_told_whom_to_contact(live):
    live.simulator.state.add_user("visitor", "访客")
    live.simulator.send_text("visitor", "你好")
    live.drain()
    [answer] = _texts(live, "visitor")
    assert "不在全生异科导师工作名单中" in answer


def test_people_listing_and_chat_page(live):
    client = live.app.test_client()
    page = client.get("/simulator/")
    assert page.status_code == 200
    assert "企业微信模拟器" in page.text
    people = client.get("/simulator/api/people").json["people"]
    by_id = {person["userid"]: person for person in people}
    assert by_id["wanglaoshi"]["roles"] == ["异科导师"]
    assert by_id["zhangsan"]["roles"] == ["学生"]
    assert "visitor" in by_id


def test_unreachable_person_is_permanent_failure(live):
    live.simulator.state.remove_user("zhangsan")
    live.simulator.send_text("zhangsan", "帮助")
    report = live.drain()
    assert report.failed == 1
    with get_database(live.app).session() as session:
        row = session.scalars(sa.select(OutboxMessage)).one()
        assert row.status == OutboxStatus.FAILED
        assert row.last_error.startswith("errcode 81013")


def test_identical_messages_go_in_one_call_and_invaliduser_fails_only_that_person(live):
    live.simulator.state.add_user("visitor", "访客")
    live.simulator.send_text("visitor", "你好")
    live.simulator.send_text("ghost", "你好")  # WeCom no longer knows this person
    report = live.drain()
    assert report.calls == 1
    assert (report.sent, report.failed) == (1, 1)
    with get_database(live.app).session() as session:
        rows = {row.userid: row for row in session.scalars(sa.select(OutboxMessage))}
    assert rows["visitor"].status == OutboxStatus.SENT
    assert rows["ghost"].status == OutboxStatus.FAILED
    assert rows["ghost"].last_error == "invaliduser"
