"""WeCom as it really behaves (issue 17), end to end: signed callbacks over HTTP to the real
endpoint, answers through the outbox and the client to the simulator made as strict as WeCom."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.db import get_database
from bot.core.models import Role
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
