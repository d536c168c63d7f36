"""WeCom as it really behaves (issue 17), end to end: signed callbacks over HTTP to the real
endpoint, answers through the outbox and the client to the simulator made as strict as WeCom."""

from __future__ import annotations

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
        with get_database(live.app).session() as session:
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
            add_person(session, "zhangsan", "张三", Role.STUDENT)
        live.simulator.state.add_user("wanglaoshi", "王老师")
        live.simulator.state.add_user("zhangsan", "张三")
        yield live


def _texts(live: LiveApp, userid: str) -> list[str]:
    return [
        entry["payload"]["content"]
        for entry in live.simulator.conversation(userid)
        if entry["direction"] == "out" and entry["msgtype"] == "text"
    ]


def test_a_second_help_within_thirty_minutes_arrives(live):
    """WeCom drops identical content inside the duplicate-check interval; a first attempt does
    not ask the check, so asking 帮助 twice gets two answers."""
    for _ in range(2):
        assert live.simulator.send_text("wanglaoshi", "帮助") == 200
        assert live.drain().sent == 1
    for _ in range(2):
        assert live.simulator.send_text("wanglaoshi", "今天天气不错") == 200
        assert live.drain().sent == 1
    texts = _texts(live, "wanglaoshi")
    assert len(texts) == 4
    assert texts[0] == texts[1] and "异科导师" in texts[0]
    assert texts[2] == texts[3] and texts[2].startswith("抱歉，没有理解您的消息")


def test_user_ids_are_case_insensitive_in_callbacks_and_sends(live):
    """The roster says LiSi, WeCom's account is lisi: the callback finds the person, and the
    answer sent to LiSi reaches lisi."""
    with get_database(live.app).session() as session:
        add_person(session, "LiSi", "李四", Role.STUDENT)
    live.simulator.state.add_user("lisi", "李四")
    assert live.simulator.send_text("lisi", "帮助") == 200
    assert live.drain().sent == 1
    [answer] = _texts(live, "lisi")
    assert "不在全生异科导师工作名单中" not in answer
    assert answer == _help_for_a_student(live)


def _help_for_a_student(live: LiveApp) -> str:
    assert live.simulator.send_text("zhangsan", "帮助") == 200
    assert live.drain().sent == 1
    [answer] = _texts(live, "zhangsan")
    return answer


def test_invaliduser_comes_back_lower_cased_and_fails_that_row(live):
    """WeCom answers invaliduser lower-cased: WangWu, gone from WeCom, must not be marked
    sent because the answer says wangwu."""
    with get_database(live.app).session() as session:
        add_person(session, "WangWu", "王五", Role.MENTOR)
    live.simulator.send_text("WangWu", "帮助")
    live.simulator.send_text("wanglaoshi", "帮助")  # the same answer: one call for both
    report = live.drain()
    assert (report.calls, report.sent, report.failed) == (1, 1, 1)
    with get_database(live.app).session() as session:
        rows = {row.userid: row for row in session.scalars(sa.select(OutboxMessage))}
    assert rows["WangWu"].status == OutboxStatus.FAILED
    assert rows["WangWu"].last_error == "invaliduser"
    assert rows["wanglaoshi"].status == OutboxStatus.SENT
