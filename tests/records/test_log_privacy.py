"""Logs never carry what people wrote or whom it was about: JSON logs at DEBUG while mentors
log contacts and care notes, a stranger writes, a flow is cancelled and a forged callback is
refused. Only types, ids, outcomes and timings may appear."""

from __future__ import annotations

import json

import pytest

from tests.factories import WeComCaller

TOPIC = "机密话题甲乙丙"
NOTE = "最近情绪低落，和室友有矛盾，约了下周再谈"
STRANGER_TEXT = "我是路人，电话一三八零零"
# what must never reach a log line: contents and the names of the people concerned
SECRETS = (TOPIC, "情绪低落", "室友", STRANGER_TEXT, "一三八零零", "张三", "李四", "王老师")


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}


def test_nothing_people_wrote_reaches_the_logs(app, client, phone, world, capfd):
    capfd.readouterr()  # start from an empty capture
    phone.say(world.mentor, f"交流 张三 李四 线上 聊{TOPIC}")
    phone.say(world.mentor, f"关爱 张三 {NOTE}")
    phone.say(world.mentor, "记录")
    phone.say(world.mentor, "取消")
    phone.say(world.mentor, "我的")
    assert WeComCaller(app, client).text("stranger", STRANGER_TEXT).status_code == 200
    forged = phone.envelope(world.mentor).text(f"交流 张三 {TOPIC}", msg_id=77_000_001)
    assert phone.post_xml(forged, msg_signature="0" * 40).status_code == 403
    again = phone.envelope(world.mentor).text(f"交流 张三 线上 聊{TOPIC}", msg_id=77_000_002)
    for _ in range(2):  # the second is WeCom's retry
        assert phone.post_xml(again).status_code == 200
    captured = capfd.readouterr()

    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    handled = [e for e in events if e.get("event") == "callback_handled"]
    assert len(handled) >= 6  # the capture does see the callbacks' log lines
    assert any(e.get("event") == "callback_refused" for e in events)
    assert any(e.get("event") == "callback_duplicate" for e in events)
    assert all("request_id" in e for e in handled)
    leaks = [line for line in lines for secret in SECRETS if secret in line]
    assert not leaks, leaks
