"""A past day chosen without a time asks for the time: never a silent 12:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.core.models import Record
from handlers import record_flow


def _button(card, text: str) -> str:
    return next(b["key"] for b in card["button_list"] if b["text"] == text)


def _pick_lisi(phone, world, card) -> None:
    chosen = [("students", [str(world.ids["lisi"])])]
    phone.tap(world.mentor, card, card["submit_button"]["key"], chosen)


def _fields(card) -> dict[str, str]:
    return {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}


def test_a_tapped_day_asks_the_hour_then_records_it(phone, database, world):
    phone.menu(world.mentor, record_flow.MENU_CONTACT)
    card = phone.last_card(world.mentor)
    _pick_lisi(phone, world, card)
    card = phone.last_card(world.mentor)
    phone.tap(world.mentor, card, _button(card, "前天"))
    card = phone.last_card(world.mentor)
    zone = phone.app.extensions["settings"].zone
    day = datetime.now(UTC).astimezone(zone).date() - timedelta(days=2)
    assert card["main_title"]["title"] == "个别交流：几点"
    assert f"{day.month}月{day.day}日几点" in card["main_title"]["desc"]
    phone.say(world.mentor, "25:00")  # a time that cannot exist is refused, the card stays
    assert "不存在" in phone.last_text(world.mentor)
    phone.tap(world.mentor, card, _button(card, "晚上 7:00"))
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "个别交流：地点"
    phone.tap(world.mentor, card, _button(card, "线上"))
    card = phone.last_card(world.mentor)
    phone.tap(world.mentor, card, _button(card, "跳过"))
    card = phone.last_card(world.mentor)
    assert _fields(card)["时间"] == f"{day.month}月{day.day}日 19:00"
    phone.tap(world.mentor, card, _button(card, "保存"))
    with database.session() as session:
        [record] = session.scalars(sa.select(Record))
        moment = record.occurred_at.astimezone(zone)
    assert (moment.date(), moment.hour, moment.minute) == (day, 19, 0)


def test_a_typed_day_without_a_time_asks_the_hour_and_takes_a_typed_one(phone, database, world):
    phone.say(world.mentor, "沟通")
    card = phone.last_card(world.mentor)
    phone.tap(world.mentor, card, _button(card, "学生的辅导员"))
    phone.last_card(world.mentor)
    phone.say(world.mentor, "昨天")
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "与辅导员沟通：几点"
    assert [b["text"] for b in card["button_list"]] == ["上午 9:00", "下午 3:00", "晚上 7:00"]
    phone.say(world.mentor, "下午4点半")
    assert phone.last_card(world.mentor)["main_title"]["title"].endswith("地点")
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Record.id))) == 0  # nothing saved yet


def test_today_without_a_time_is_not_asked_and_a_time_with_the_day_is_taken(phone, world):
    phone.say(world.mentor, "交流")
    card = phone.last_card(world.mentor)
    _pick_lisi(phone, world, card)
    phone.say(world.mentor, "昨天 20:00")
    assert phone.last_card(world.mentor)["main_title"]["title"] == "个别交流：地点"


def test_changing_a_records_day_alone_keeps_its_time(phone, database, world):
    phone.say(world.mentor, "交流 李四 昨天19:30 线上 聊选课")
    assert phone.last_text(world.mentor).startswith("已记录个别交流")
    phone.say(world.mentor, "修改 1 时间 前天")
    zone = phone.app.extensions["settings"].zone
    day = datetime.now(UTC).astimezone(zone).date() - timedelta(days=2)
    assert f"{day.month}月{day.day}日 19:30" in phone.last_text(world.mentor)
    with database.session() as session:
        [record] = session.scalars(sa.select(Record))
        moment = record.occurred_at.astimezone(zone)
    assert (moment.date(), moment.hour, moment.minute) == (day, 19, 30)


def test_quick_text_with_a_day_and_no_time_asks_the_hour_keeping_the_rest(phone, database, world):
    phone.say(world.mentor, "交流 张三 昨天 线上 聊选课")
    card = phone.last_card(world.mentor)
    zone = phone.app.extensions["settings"].zone
    day = datetime.now(UTC).astimezone(zone).date() - timedelta(days=1)
    assert card["main_title"]["title"] == "个别交流：几点"
    assert f"{day.month}月{day.day}日几点" in card["main_title"]["desc"]
    assert "其余内容已记下" in card["main_title"]["desc"]
    with database.session() as session:  # nothing saved at a made-up noon
        assert session.scalar(sa.select(sa.func.count(Record.id))) == 0
    phone.say(world.mentor, "晚上8点")  # the student, the day, 线上 and the note are kept
    saved = phone.last_text(world.mentor)
    assert saved.startswith("已记录个别交流")
    assert f"时间：{day.month}月{day.day}日 20:00" in saved and "12:00" not in saved
    assert "内容：聊选课" in saved
    with database.session() as session:
        [record] = session.scalars(sa.select(Record))
        moment = record.occurred_at.astimezone(zone)
        assert (moment.date(), moment.hour, record.online, record.note) == (
            day,
            20,
            True,
            "聊选课",
        )


def test_quick_text_with_a_day_and_a_time_or_today_is_saved_at_once(phone, world):
    phone.say(world.mentor, "交流 张三 昨天19:00 线上 聊选课")
    assert phone.last_text(world.mentor).startswith("已记录个别交流")
    phone.say(world.mentor, "交流 李四 今天 线上 聊实习")  # today without a time: now
    assert phone.last_text(world.mentor).startswith("已记录个别交流")


def test_a_day_to_come_without_a_time_is_refused_not_asked(phone, database, world):
    phone.say(world.mentor, "交流 张三 明天 线上 聊选课")
    answer = phone.last_text(world.mentor)
    assert "还没有到" in answer and "没有保存" in answer
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Record.id))) == 0


def test_a_kind_whose_time_is_never_asked_shows_its_day_not_a_made_up_hour(phone, world):
    phone.say(world.mentor, "宣传 昨天 读书沙龙推文素材")
    saved = phone.last_text(world.mentor)
    zone = phone.app.extensions["settings"].zone
    day = datetime.now(UTC).astimezone(zone).date() - timedelta(days=1)
    assert saved.startswith("已记录宣传素材")
    assert f"日期：{day.month}月{day.day}日\n" in saved and "12:00" not in saved
    phone.say(world.mentor, "查看 1")
    shown = phone.last_text(world.mentor)
    assert f"日期：{day.month}月{day.day}日" in shown and "12:00" not in shown
