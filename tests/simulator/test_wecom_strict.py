"""WeCom as it really behaves (issue 17), end to end: signed callbacks over HTTP to the real
endpoint, answers through the outbox and the client to the simulator made as strict as WeCom."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot.core.db import get_database
from bot.core.models import OutboxMessage, OutboxStatus, Role
from tests.factories import add_person
from tests.live import LiveApp, serve


@pytest.fixture
def strict(request) -> dict[str, str]:
    """Settings a test asks for (``parametrize("strict", [{...}], indirect=True)``)."""
    return getattr(request, "param", {})


@pytest.fixture
def live(settings_overrides, strict) -> Iterator[LiveApp]:
    with serve({**settings_overrides, **strict}) as live:
        with get_database(live.app).session() as session:
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
            add_person(session, "zhangsan", "张三", Role.STUDENT)
            add_person(session, "sysadmin", "马骏", Role.SYSTEM_ADMIN)
        for userid, name in (("wanglaoshi", "王老师"), ("zhangsan", "张三"), ("sysadmin", "马骏")):
            live.simulator.state.add_user(userid, name)
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


def _metric(live: LiveApp, name: str, **labels: str) -> float:
    text = live.app.test_client().get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.mark.parametrize(
    "strict", [{"SIMULATOR_OUTSIDE_RANGE": "zhangsan,chenlaoshi"}], indirect=True
)
def test_people_outside_the_visible_range_alert_the_system_administrators_once_a_day(live):
    """The app's visible range leaves zhangsan and chenlaoshi out: their answers fail (81013
    alone, invaliduser beside someone reachable), the system administrators hear it once a
    day with the count and the ids, and /metrics counts every unreachable recipient."""
    with get_database(live.app).session() as session:
        add_person(session, "chenlaoshi", "陈老师", Role.MENTOR)
    live.simulator.state.add_user("chenlaoshi", "陈老师")
    live.simulator.send_text("zhangsan", "帮助")
    assert live.drain().failed == 1  # 81013: nobody in the call reachable
    live.simulator.send_text("chenlaoshi", "帮助")
    live.simulator.send_text("wanglaoshi", "帮助")
    report = live.drain()  # chenlaoshi's row fails (invaliduser); the alert goes out
    assert (report.sent, report.failed) == (2, 1)
    [alert] = _texts(live, "sysadmin")
    assert alert.startswith("【系统告警】有 1 条消息因收件人无法送达而发送失败")
    assert "zhangsan" in alert and "可见范围" in alert
    assert _texts(live, "zhangsan") == [] and _texts(live, "chenlaoshi") == []

    live.simulator.send_text("zhangsan", "帮助")
    assert live.drain().failed == 1
    assert live.drain().claimed == 0  # no second alert today
    assert len(_texts(live, "sysadmin")) == 1
    name = "mentorbot_unreachable_recipients_total"
    assert _metric(live, name, reason="81013") == 2
    assert _metric(live, name, reason="invaliduser") == 1


@pytest.mark.parametrize("strict", [{"SIMULATOR_TRUSTED_IPS": "10.1.2.3"}], indirect=True)
def test_a_sender_outside_the_trusted_ips_meets_60020_and_gives_up(live):
    """企业可信IP leaves the sender's address out: every call fails with 60020, which no
    retry mends: the row fails at once."""
    assert live.simulator.send_text("wanglaoshi", "帮助") == 200
    report = live.drain()
    assert (report.sent, report.failed, report.errors) == (0, 1, {"errcode 60020": 1})
    with get_database(live.app).session() as session:
        row = session.scalars(sa.select(OutboxMessage)).one()
    assert row.status == OutboxStatus.FAILED and row.last_error.startswith("errcode 60020")
    assert _texts(live, "wanglaoshi") == []


def test_a_callback_not_answered_200_is_retried_and_acted_on_once(live):
    """WeCom tries again when the app does not answer 200 within 5 s (three retries at most):
    here the app did the work but its first answer was lost; the retry is a duplicate."""
    from werkzeug.serving import make_server

    from bot.devtools.simulator.chat import http_deliver
    from tests.live import free_port

    calls = []

    def lossy(environ, start_response):  # the bot, whose first answer is lost on the way
        calls.append(environ["PATH_INFO"])
        if len(calls) == 1:
            b"".join(live.app(environ, lambda *args: None))
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"lost"]
        return live.app(environ, start_response)

    port = free_port()
    server = make_server("127.0.0.1", port, lossy, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        deliver = http_deliver(f"http://127.0.0.1:{port}/wecom/callback", timeout=5)
        live.simulator.deliver = deliver
        assert live.simulator.send_text("wanglaoshi", "帮助") == 200
    finally:
        server.shutdown()
        server.server_close()
    assert len(calls) == 2
    assert live.drain().sent == 1
    assert len(_texts(live, "wanglaoshi")) == 1


def test_a_callback_is_tried_four_times_at_most():
    """The first try and three retries, whether the app answers an error or too late."""
    import time

    from werkzeug.serving import make_server

    from bot.devtools.simulator.chat import http_deliver
    from tests.live import free_port

    calls = []

    def unwell(environ, start_response):
        calls.append(environ["QUERY_STRING"])
        if "slow" in environ["QUERY_STRING"]:
            time.sleep(0.5)
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"busy"]

    port = free_port()
    server = make_server("127.0.0.1", port, unwell, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        deliver = http_deliver(f"http://127.0.0.1:{port}/wecom/callback", timeout=0.2)
        assert deliver({"nonce": "busy"}, b"<xml/>") == 503
        assert deliver({"nonce": "slow"}, b"<xml/>") == 599  # no answer within the timeout
    finally:
        server.shutdown()
        server.server_close()
    assert calls == ["nonce=busy"] * 4 + ["nonce=slow"] * 4
