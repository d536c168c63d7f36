"""The kinds without a menu button of their own: 记录 → 其他记录 → a card of kinds → that
kind's guided flow, through signed callbacks. Each flow saves exactly what the quick text
would, through the same service."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.chat.state import ConversationState
from bot.core.models import RECORD_KIND_NAMES, Record, RecordKind
from bot.records.flow import FLOW
from handlers import record_flow
from scoring import load_rubric

RUBRIC = load_rubric()


def _records(database) -> list[tuple[Record, list[str]]]:
    with database.session() as session:
        rows = session.scalars(sa.select(Record).order_by(Record.id)).all()
        return [(row, sorted(p.student.userid for p in row.participants)) for row in rows]


def _counted(record: Record) -> list[str]:
    """The items the record counts for, as the rubric says when it is read."""
    return list(RUBRIC.items_for(record.kind, record.activity_type))


def _saved(database) -> list[tuple[Any, ...]]:
    """What a record says, without its id and times."""
    return [
        (r.kind, _counted(r), r.title, r.note, r.place, r.online, r.activity_type, students)
        for r, students in _records(database)
    ]


def _button(card: dict[str, Any], text: str) -> str:
    keys = [b["key"] for b in card["button_list"] if b["text"].startswith(text)]
    assert len(keys) == 1, (text, card["button_list"])
    return keys[0]


def _press(phone, userid: str, card: dict[str, Any], text: str) -> None:
    phone.tap(userid, card, _button(card, text))


def _picker(phone, userid: str) -> dict[str, Any]:
    phone.menu(userid, record_flow.MENU_OTHER)
    card = phone.last_card(userid)
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "其他记录"
    return card


def _start(phone, userid: str, kind_text: str) -> None:
    _press(phone, userid, _picker(phone, userid), kind_text)


def _save(phone, userid: str, title: str) -> dict[str, str]:
    card = phone.last_card(userid)
    assert card["main_title"]["title"] == title
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    _press(phone, userid, card, "保存")
    return fields


def _local_today(phone):
    return datetime.now(UTC).astimezone(phone.app.extensions["settings"].zone).date()


def test_the_picker_lists_the_kinds_without_a_menu_button(phone, world):
    card = _picker(phone, world.mentor)
    assert [b["text"] for b in card["button_list"]] == [
        "学期计划",
        "月度计划",
        "月度总结",
        "宣传素材",
        "书院空间/活动",
        "校外资源",
    ]


def test_semester_plan_through_the_picker_links_the_upload_page(phone, database, world):
    _start(phone, world.mentor, "学期计划")
    prompt = phone.last_text(world.mentor)
    assert "学期工作计划的要点" in prompt
    assert "/m/upload?purpose=semester_plan" in prompt
    assert _records(database) == []
    phone.say(world.mentor, "每月一次读书沙龙，两周一次个别交流")
    fields = _save(phone, world.mentor, "确认学期计划")
    assert fields["要点"] == "每月一次读书沙龙，两周一次个别交流"
    assert "地点" not in fields and "学生" not in fields
    assert phone.last_text(world.mentor).startswith("已记录学期计划（计入考核指标 B4）")
    assert _saved(database) == [
        (
            RecordKind.SEMESTER_PLAN,
            ["B4"],
            "每月一次读书沙龙，两周一次个别交流",
            None,
            None,
            None,
            None,
            [],
        )
    ]


@pytest.mark.parametrize(
    ("button", "kind", "title", "quick"),
    [
        ("月度计划", RecordKind.MONTHLY_PLAN, "确认月度计划", "月计划"),
        ("月度总结", RecordKind.MONTHLY_SUMMARY, "确认月度总结", "月总结"),
    ],
)
def test_monthly_plan_and_summary_ask_the_month(phone, database, world, button, kind, title, quick):
    today = _local_today(phone)
    _start(phone, world.mentor, button)
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"].endswith("：月份")
    _press(phone, world.mentor, card, "本月")
    prompt = phone.last_text(world.mentor)
    assert f"/m/upload?purpose={kind.value}" in prompt
    phone.say(world.mentor, "两次个别交流、一次观影")
    fields = _save(phone, world.mentor, title)
    assert fields["月份"] == f"{today.year}年{today.month}月"
    name = RECORD_KIND_NAMES[kind]
    assert phone.last_text(world.mentor).startswith(f"已记录{name}（计入考核指标 B4）")
    [(record, _)] = _records(database)
    local = record.occurred_at.astimezone(phone.app.extensions["settings"].zone)
    assert (local.year, local.month) == (today.year, today.month)
    # the same record as the quick text makes
    phone.say(world.mentor, f"{quick} 两次个别交流、一次观影")
    assert phone.last_text(world.mentor).startswith("已记录")
    by_flow, by_text = _saved(database)
    assert by_flow == by_text
    assert by_flow[:2] == (kind, ["B4"])


def test_a_summary_of_last_month_is_dated_in_last_month(phone, database, world):
    today = _local_today(phone)
    last = today.replace(day=1) - timedelta(days=1)
    _start(phone, world.mentor, "月度总结")
    card = phone.last_card(world.mentor)
    texts = [b["text"] for b in card["button_list"]]
    if last.month == 8:  # September: last month belongs to the previous academic year
        assert texts == [f"本月（{today.month}月）"]
        phone.say(world.mentor, "上月")
        assert "不在本学年" in phone.last_text(world.mentor)
        return
    assert texts == [f"本月（{today.month}月）", f"上月（{last.month}月）"]
    phone.say(world.mentor, "13月")
    assert "没有看懂这个月份" in phone.last_text(world.mentor)
    _press(phone, world.mentor, card, "上月")
    phone.last_text(world.mentor)
    phone.say(world.mentor, "完成读书沙龙一次")
    fields = _save(phone, world.mentor, "确认月度总结")
    assert fields["月份"] == f"{last.year}年{last.month}月"
    [(record, _)] = _records(database)
    local = record.occurred_at.astimezone(phone.app.extensions["settings"].zone)
    assert local.date() == last


def test_publicity_title_then_note(phone, database, world):
    _start(phone, world.mentor, "宣传素材")
    assert "宣传素材标题" in phone.last_text(world.mentor)
    phone.say(world.mentor, "读书沙龙推文素材")
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "宣传素材：内容"
    assert "素材链接" in card["main_title"]["desc"]
    phone.say(world.mentor, "https://example.com/tuiwen")
    fields = _save(phone, world.mentor, "确认宣传素材")
    assert (fields["素材"], fields["内容"]) == ("读书沙龙推文素材", "https://example.com/tuiwen")
    assert phone.last_text(world.mentor).startswith("已记录宣传素材（计入考核指标 M6）")
    assert _saved(database) == [
        (
            RecordKind.PUBLICITY,
            ["M6"],
            "读书沙龙推文素材",
            "https://example.com/tuiwen",
            None,
            None,
            None,
            [],
        )
    ]


def test_publicity_with_the_note_skipped_matches_the_quick_text(phone, database, world):
    _start(phone, world.mentor, "宣传素材")
    phone.last_text(world.mentor)
    phone.say(world.mentor, "读书沙龙推文素材")
    _press(phone, world.mentor, phone.last_card(world.mentor), "跳过")
    _save(phone, world.mentor, "确认宣传素材")
    phone.say(world.mentor, "宣传 读书沙龙推文素材")
    by_flow, by_text = _saved(database)
    assert (
        by_flow
        == by_text
        == (
            RecordKind.PUBLICITY,
            ["M6"],
            "读书沙龙推文素材",
            None,
            None,
            None,
            None,
            [],
        )
    )


def test_academy_activity_type_time_place_and_participants(phone, database, world):
    _start(phone, world.mentor, "书院空间/活动")
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "书院空间预约/社区活动：类型"
    _press(phone, world.mentor, card, "参加书院社区活动")
    _press(phone, world.mentor, phone.last_card(world.mentor), "昨天")
    _press(phone, world.mentor, phone.last_card(world.mentor), "上午 9:00")
    _press(phone, world.mentor, phone.last_card(world.mentor), "线下")
    card = phone.last_card(world.mentor)
    assert card["card_type"] == "vote_interaction"
    assert "可以不选" in card["main_title"]["desc"]
    phone.tap(
        world.mentor,
        card,
        card["submit_button"]["key"],
        [("students", [str(world.ids["lisi"]), str(world.ids["zhangsan"])])],
    )
    fields = _save(phone, world.mentor, "确认书院空间预约/社区活动")
    assert (fields["类型"], fields["地点"]) == ("参加书院社区活动", "线下")
    assert sorted(fields["学生"].split("、")) == sorted(["李四", "张三"])
    assert phone.last_text(world.mentor).startswith(
        "已记录书院空间预约/社区活动（计入考核指标 A1）"
    )
    [(record, students)] = _records(database)
    assert (record.kind, _counted(record), record.title) == (
        RecordKind.ACADEMY_BOOKING,
        ["A1"],
        "参加书院社区活动",
    )
    assert (record.activity_type, record.online) == (None, False)
    assert students == ["lisi", "zhangsan"]
    local = record.occurred_at.astimezone(phone.app.extensions["settings"].zone)
    assert local.date() == _local_today(phone) - timedelta(days=1)


def test_academy_booking_without_participants(phone, database, world):
    _start(phone, world.mentor, "书院空间/活动")
    phone.say(world.mentor, "预约书院研讨室")
    _press(phone, world.mentor, phone.last_card(world.mentor), "今天")
    phone.say(world.mentor, "书院研讨室")
    card = phone.last_card(world.mentor)
    phone.tap(world.mentor, card, card["submit_button"]["key"], [("students", [])])
    fields = _save(phone, world.mentor, "确认书院空间预约/社区活动")
    assert "学生" not in fields
    assert _saved(database) == [
        (RecordKind.ACADEMY_BOOKING, ["A1"], "预约书院研讨室", None, "书院研讨室", False, None, [])
    ]


def test_external_resource_what_then_note(phone, database, world):
    _start(phone, world.mentor, "校外资源")
    assert "引入的校外资源" in phone.last_text(world.mentor)
    phone.say(world.mentor, "邀请企业工程师来校交流")
    phone.say(world.mentor, "某公司，给大三学生讲实习")
    fields = _save(phone, world.mentor, "确认校外资源引入")
    assert fields["资源"] == "邀请企业工程师来校交流"
    assert phone.last_text(world.mentor).startswith("已记录校外资源引入（计入考核指标 A3）")
    assert _saved(database) == [
        (
            RecordKind.EXTERNAL_RESOURCE,
            ["A3"],
            "邀请企业工程师来校交流",
            "某公司，给大三学生讲实习",
            None,
            None,
            None,
            [],
        )
    ]


@pytest.mark.parametrize(
    ("word", "asks"),
    [
        ("宣传", "宣传素材标题"),
        ("资源", "引入的校外资源"),
        ("学期计划", "学期工作计划的要点"),
    ],
)
def test_the_command_word_alone_starts_the_same_flow(phone, database, world, word, asks):
    phone.say(world.mentor, word)
    assert asks in phone.last_text(world.mentor)
    phone.say(world.mentor, "取消")
    assert phone.last_text(world.mentor) == "已取消，没有保存任何内容。"
    assert _records(database) == []


def test_cancel_mid_flow_then_the_old_card_is_expired(phone, database, world):
    _start(phone, world.mentor, "月度计划")
    card = phone.last_card(world.mentor)
    phone.say(world.mentor, "取消")
    assert phone.last_text(world.mentor) == "已取消，没有保存任何内容。"
    _press(phone, world.mentor, card, "本月")
    assert phone.last_text(world.mentor).startswith("操作已过期")
    phone.say(world.mentor, "两次个别交流")
    assert phone.last_text(world.mentor).startswith("抱歉，没有理解您的消息")
    assert _records(database) == []


def test_cancel_on_the_confirm_card(phone, database, world):
    _start(phone, world.mentor, "校外资源")
    phone.say(world.mentor, "企业导师讲座")
    phone.say(world.mentor, "联系了某公司")
    _press(phone, world.mentor, phone.last_card(world.mentor), "取消")
    assert phone.last_text(world.mentor) == "已取消，没有保存任何内容。"
    assert _records(database) == []


def _age_flow(app, userid: str, minutes: int) -> None:
    state = ConversationState(app.extensions["redis"], userid)
    loaded = state.load(FLOW, now=datetime.now(UTC))
    state.put(FLOW, loaded.value, now=datetime.now(UTC) - timedelta(minutes=minutes))


def test_an_expired_flow_says_so(phone, app, database, world):
    _start(phone, world.mentor, "宣传素材")
    phone.say(world.mentor, "读书沙龙推文素材")
    card = phone.last_card(world.mentor)
    _age_flow(app, world.mentor, 31)
    _press(phone, world.mentor, card, "跳过")
    assert phone.last_text(world.mentor).startswith("操作已过期，请重新开始")
    assert _records(database) == []


def test_text_on_an_expired_academy_flow_says_so(phone, app, database, world):
    _start(phone, world.mentor, "书院空间/活动")
    phone.last_card(world.mentor)
    _age_flow(app, world.mentor, 45)
    phone.say(world.mentor, "预约书院研讨室")
    assert phone.last_text(world.mentor).startswith("操作已过期，请重新开始")
    assert _records(database) == []


@pytest.mark.parametrize("who", ["student", "college_admin", "academy_admin"])
def test_only_mentors_may_use_the_picker(phone, app, database, world, who):
    card = _picker(phone, world.mentor)
    userid = getattr(world, who)
    phone.menu(userid, record_flow.MENU_OTHER)
    assert "只有异科导师可以记录工作台账" in phone.last_text(userid)
    for text in ("学期计划", "书院空间/活动"):
        _press(phone, userid, card, text)
        assert "只有异科导师可以记录工作台账" in phone.last_text(userid)
    state = ConversationState(app.extensions["redis"], userid)
    assert state.load(FLOW, now=datetime.now(UTC)) is None
    assert _records(database) == []


def test_a_forged_kind_is_refused(phone, database, world):
    card = _picker(phone, world.mentor)
    phone.tap(world.mentor, card, "rec_start:monthly_guidance")
    assert "按钮已失效" in phone.last_text(world.mentor)
    assert _records(database) == []
