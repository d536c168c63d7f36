"""A mentor's record journey with the whole app served for real: every tap is a signed callback
from the simulator, every answer goes out through the outbox and the fake WeCom API, which
enforces WeCom's rules for cards and card updates."""

from collections.abc import Iterator

import pytest

from bot.core.db import get_database
from handlers import record_flow
from tests.fonts import cjk_font_installed
from tests.live import LiveApp, serve
from tests.records.conftest import World, build_world


@pytest.fixture
def live(settings_overrides) -> Iterator[tuple[LiveApp, World]]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        world = build_world(database)
        with live.app.app_context():
            for userid, name in (("wanglaoshi", "王老师"), ("zhangsan", "张三")):
                live.simulator.state.add_user(userid, name)
        yield live, world


def _out(live: LiveApp, userid: str) -> list[dict]:
    return [e for e in live.simulator.conversation(userid) if e["direction"] == "out"]


def _tap(live: LiveApp, userid: str, card: dict, key: str, selected=()) -> None:
    status = live.simulator.tap_card(
        userid,
        task_id=card["task_id"],
        card_type=card["card_type"],
        event_key=key,
        selected=list(selected),
    )
    assert status == 200
    report = live.drain()
    assert report.failed == 0 and report.dead == 0


def test_menu_flow_through_the_simulator(live):
    live, world = live
    mentor = world.mentor
    assert live.simulator.tap_menu(mentor, record_flow.MENU_CONTACT, "个别交流") == 200
    assert live.drain().sent == 1
    card = _out(live, mentor)[-1]["payload"]
    zhangsan = next(o for o in card["checkbox"]["option_list"] if o["text"] == "张三")
    _tap(live, mentor, card, card["submit_button"]["key"], [("students", [zhangsan["id"]])])
    picked = next(e for e in _out(live, mentor) if e["msgtype"] == "template_card")
    assert picked["replaced_text"] == "已提交"
    card = _out(live, mentor)[-1]["payload"]
    today = next(b for b in card["button_list"] if b["text"] == "今天")
    _tap(live, mentor, card, today["key"])
    card = _out(live, mentor)[-1]["payload"]
    online = next(b for b in card["button_list"] if b["text"] == "线上")
    _tap(live, mentor, card, online["key"])
    assert live.simulator.send_text(mentor, "聊选课") == 200
    live.drain()
    card = _out(live, mentor)[-1]["payload"]
    save = next(b for b in card["button_list"] if b["text"] == "保存")
    _tap(live, mentor, card, save["key"])
    last = _out(live, mentor)[-1]
    assert last["msgtype"] == "text"
    assert last["payload"]["content"].startswith("已记录个别交流")
    assert "张三" in last["payload"]["content"]


def test_quick_text_and_progress_through_the_simulator(live):
    live, world = live
    mentor = world.mentor
    assert live.simulator.send_text(mentor, "交流 zhangsan 线上 聊选课") == 200
    assert live.simulator.send_text(mentor, "我的") == 200
    if not cjk_font_installed():  # the progress goes out without its picture
        assert live.drain().sent == 2
        confirmation, progress = _out(live, mentor)
    else:
        assert live.drain().sent == 3
        confirmation, image, progress = _out(live, mentor)
        assert (image["msgtype"], image["filename"]) == ("image", "我的进度.png")
        uploaded = live.simulator.state.media(image["payload"]["media_id"])  # temporary media
        assert uploaded is not None and uploaded.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert confirmation["payload"]["content"].startswith("已记录个别交流")
    assert progress["msgtype"] == "markdown"
    assert "本周个别交流" in progress["payload"]["content"]


def test_a_100_kb_text_gets_an_answer_within_wecoms_limit(live):
    """WeCom refuses a text over 2,048 bytes (45002): the reply quoting a 100 KB name used to
    be retried until it died; now the quote is short and the reply is sent."""
    live, world = live
    mentor = world.mentor
    assert live.simulator.tap_menu(mentor, record_flow.MENU_CONTACT, "个别交流") == 200
    assert live.drain().sent == 1  # the student picker
    huge = "孙悟空" * 11_400  # 102,600 bytes
    assert live.simulator.send_text(mentor, huge) == 200
    report = live.drain()
    assert (report.sent, report.failed, report.dead, report.errors) == (1, 0, 0, {})
    reply = _out(live, mentor)[-1]
    assert reply["msgtype"] == "text"
    content = reply["payload"]["content"]
    assert len(content.encode("utf-8")) <= 2048
    assert f"没有找到“{'孙悟空' * 6}孙悟…”" in content
