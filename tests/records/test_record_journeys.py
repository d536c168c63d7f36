"""Mentors record their work through signed callbacks: quick text, cards, refusals."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.chat.state import ConversationState
from bot.core.models import AuditEntry, Record, RecordKind
from bot.records.flow import FLOW
from handlers import record_flow
from scoring import load_rubric

RUBRIC = load_rubric()


def _records(database):
    with database.session() as session:
        rows = session.scalars(sa.select(Record).order_by(Record.id)).all()
        return [(row, sorted(p.student.userid for p in row.participants)) for row in rows]


def test_quick_contact_is_recorded_and_confirmed(phone, database, world):
    phone.say(world.mentor, "交流 张三 李四 线上 聊选课")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已记录个别交流（计入考核指标 M1）")  # not career guidance
    assert "张三、李四" in answer
    assert "聊选课" in answer
    [(record, students)] = _records(database)
    assert record.kind == RecordKind.CONTACT
    assert students == ["lisi", "zhangsan"]
    assert record.online is True
    assert record.note == "聊选课"
    assert RUBRIC.items_for(record.kind, record.activity_type, record.online) == ("M1",)
    assert abs(record.occurred_at - datetime.now(UTC)) < timedelta(minutes=2)
    with database.session() as session:
        [entry] = session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.entity, entry.entity_id) == ("create", "record", str(record.id))
    assert entry.after["students"] == sorted([world.ids["zhangsan"], world.ids["lisi"]])


def test_pinyin_and_initials_find_the_students(phone, database, world):
    phone.say(world.mentor, "交流 lisi 昨天19:00 图书馆 讨论考研规划")
    assert phone.last_text(world.mentor).startswith("已记录个别交流（计入考核指标 M1、M7）")
    [(record, students)] = _records(database)
    assert students == ["lisi"]
    assert record.place == "图书馆"
    assert record.note == "讨论考研规划"


def test_group_activity_with_type_and_participants(phone, database, world):
    yesterday = datetime.now(UTC).astimezone(phone.app.extensions["settings"].zone).date()
    yesterday -= timedelta(days=1)
    text = f"活动 读书沙龙 {yesterday.month}月{yesterday.day}日19:00 图书馆 参加：张三、李四、ls"
    phone.say(world.mentor, text)
    answer = phone.last_text(world.mentor)
    assert "已记录集体活动（计入考核指标 M2、M5）" in answer
    [(record, students)] = _records(database)
    assert record.kind == RecordKind.GROUP_ACTIVITY
    assert record.activity_type == "读书沙龙"
    assert record.title == "读书沙龙"
    assert record.place == "图书馆"
    assert students == ["lisi", "zhangsan"]
    local = record.occurred_at.astimezone(phone.app.extensions["settings"].zone)
    assert (local.date(), local.hour, local.minute) == (yesterday, 19, 0)


@pytest.mark.parametrize(
    ("text", "kind", "items"),
    [
        ("沟通 辅导员 今天 了解学生近况", RecordKind.COUNSELLOR_TALK, ["M3"]),
        ("沟通 院长 今天 汇报工作", RecordKind.LEADER_TALK, ["M3"]),
        ("宣传 读书沙龙推文素材", RecordKind.PUBLICITY, ["M6"]),
        ("书院 今天 预约书院共享空间", RecordKind.ACADEMY_BOOKING, ["A1"]),
        ("资源 邀请企业工程师来校", RecordKind.EXTERNAL_RESOURCE, ["A3"]),
        ("月计划 两次交流一次观影", RecordKind.MONTHLY_PLAN, ["B4"]),
    ],
)
def test_other_kinds_by_quick_text(phone, database, world, text, kind, items):
    phone.say(world.mentor, text)
    assert phone.last_text(world.mentor).startswith("已记录")
    [(record, students)] = _records(database)
    counted = RUBRIC.items_for(record.kind, record.activity_type)
    assert (record.kind, counted, students) == (kind, tuple(items), [])


def test_unknown_name_is_asked_about_never_guessed(phone, database, world):
    phone.say(world.mentor, "交流 张三 孙悟空 线上 聊选课")
    card = phone.last_card(world.mentor)
    assert card["card_type"] == "vote_interaction"
    assert "没有找到“孙悟空”" in card["main_title"]["desc"]
    options = {option["text"]: option for option in card["checkbox"]["option_list"]}
    assert options["张三"]["is_checked"] is True
    assert _records(database) == []
    phone.tap(
        world.mentor,
        card,
        card["submit_button"]["key"],
        [("students", [str(world.ids["zhangsan"]), str(world.ids["zhousong"])])],
    )
    assert phone.last_text(world.mentor).startswith("已记录个别交流")
    [(record, students)] = _records(database)
    assert students == ["zhangsan", "zhousong"]
    assert record.note == "聊选课"


def test_ambiguous_initials_offer_only_the_candidates(phone, database, world):
    phone.say(world.mentor, "交流 zs 线上 聊选课")
    card = phone.last_card(world.mentor)
    texts = [option["text"] for option in card["checkbox"]["option_list"]]
    assert sorted(texts) == ["周松", "张三"]
    assert "“zs”可能是" in card["main_title"]["desc"]
    phone.tap(
        world.mentor,
        card,
        card["submit_button"]["key"],
        [("students", [str(world.ids["zhousong"])])],
    )
    [(_record, students)] = _records(database)
    assert students == ["zhousong"]


def test_two_students_with_the_same_name_are_asked_about(phone, database, world):
    phone.say(world.mentor, "交流 王五 聊天")
    card = phone.last_card(world.mentor)
    assert [o["text"] for o in card["checkbox"]["option_list"]] == ["王五", "王五"]
    assert _records(database) == []


def test_another_mentors_student_is_unknown_among_yours(phone, database, world):
    phone.say(world.mentor, "交流 赵六 线上 聊选课")
    card = phone.last_card(world.mentor)
    assert "在您本学年的学生中没有找到“赵六”" in card["main_title"]["desc"]
    ids = [option["id"] for option in card["checkbox"]["option_list"]]
    assert str(world.ids["zhaoliu"]) not in ids
    # a forged tap naming the other mentor's student adds nobody
    phone.tap(
        world.mentor,
        card,
        card["submit_button"]["key"],
        [("students", [str(world.ids["zhaoliu"])])],
    )
    assert "请至少勾选一位学生" in " ".join(
        m["text"]["content"] for m in phone.new(world.mentor) if m["msgtype"] == "text"
    )
    assert _records(database) == []


def test_a_future_date_is_refused_with_the_reason(phone, database, world):
    zone = phone.app.extensions["settings"].zone
    tomorrow = datetime.now(UTC).astimezone(zone).date() + timedelta(days=1)
    phone.say(world.mentor, f"交流 张三 {tomorrow.isoformat()} 聊选课")
    assert "还没有到" in phone.last_text(world.mentor)
    assert _records(database) == []


def test_a_date_outside_the_academic_year_is_refused(phone, database, world):
    phone.say(world.mentor, "交流 张三 2001-01-01 聊选课")
    assert "不在本学年" in phone.last_text(world.mentor)
    assert _records(database) == []


@pytest.mark.parametrize("who", ["student", "college_admin", "academy_admin"])
def test_only_mentors_may_record(phone, database, world, who):
    userid = getattr(world, who)
    for text in ("交流 张三 线上 聊选课", "我的", "记录", "删除 1"):
        phone.say(userid, text)
        assert "只有异科导师可以记录工作台账" in phone.last_text(userid)
    phone.menu(userid, record_flow.MENU_CONTACT)
    assert "只有异科导师" in phone.last_text(userid)
    assert _records(database) == []


def test_the_weekly_reminder_button_starts_the_contact_flow(phone, database, world):
    from bot.records.reminders import weekly_contact_card

    reminder = weekly_contact_card(9, 1, 2, "weekly-test-1")
    assert "还差 1 次" in reminder["main_title"]["desc"]
    phone.tap(world.mentor, reminder, reminder["button_list"][0]["key"])
    assert phone.last_card(world.mentor)["main_title"]["title"] == "个别交流：选择学生"
    phone.tap(world.student, reminder, reminder["button_list"][0]["key"])
    assert "只有异科导师" in phone.last_text(world.student)
    phone.tap(world.mentor, reminder, "rec_start:no_such_kind")
    assert "按钮已失效" in phone.last_text(world.mentor)
    assert _records(database) == []


def test_guided_contact_flow_from_the_menu(phone, database, world):
    phone.menu(world.mentor, record_flow.MENU_CONTACT)
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "个别交流：选择学生"
    assert len(card["checkbox"]["option_list"]) == 5
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [str(world.ids["lisi"])])]
    )
    card = phone.last_card(world.mentor)
    yesterday = next(b for b in card["button_list"] if b["text"] == "昨天")
    phone.tap(world.mentor, card, yesterday["key"])
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "个别交流：几点"  # never a silent noon
    phone.tap(
        world.mentor, card, next(b for b in card["button_list"] if "7:00" in b["text"])["key"]
    )
    card = phone.last_card(world.mentor)
    online = next(b for b in card["button_list"] if b["text"] == "线上")
    phone.tap(world.mentor, card, online["key"])
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "个别交流：内容"
    phone.say(world.mentor, "聊了实习的事")
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "确认个别交流"
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["学生"] == "李四"
    assert fields["内容"] == "聊了实习的事"
    save = next(b for b in card["button_list"] if b["text"] == "保存")
    phone.tap(world.mentor, card, save["key"])
    assert phone.last_text(world.mentor).startswith("已记录个别交流")
    [(record, students)] = _records(database)
    assert students == ["lisi"]
    assert record.online is True
    zone = phone.app.extensions["settings"].zone
    expected = datetime.now(UTC).astimezone(zone).date() - timedelta(days=1)
    assert record.occurred_at.astimezone(zone).date() == expected


def test_guided_talk_and_typed_date(phone, database, world):
    phone.say(world.mentor, "沟通")
    card = phone.last_card(world.mentor)
    counsellor = next(b for b in card["button_list"] if "辅导员" in b["text"])
    phone.tap(world.mentor, card, counsellor["key"])
    phone.last_card(world.mentor)
    phone.say(world.mentor, "明年3月5日")
    assert "没有看懂这个时间" in phone.last_text(world.mentor)
    phone.say(world.mentor, "前天")
    phone.last_card(world.mentor)
    phone.say(world.mentor, "下午3点")
    phone.last_card(world.mentor)
    phone.say(world.mentor, "学院会议室")
    card = phone.last_card(world.mentor)
    skip = next(b for b in card["button_list"] if b["text"] == "跳过")
    phone.tap(world.mentor, card, skip["key"])
    phone.last_card(world.mentor)
    phone.say(world.mentor, "确认")
    assert phone.last_text(world.mentor).startswith("已记录与辅导员沟通")
    [(record, _)] = _records(database)
    assert (record.kind, record.place, record.online) == (
        RecordKind.COUNSELLOR_TALK,
        "学院会议室",
        False,
    )


def test_picker_pages_and_search(phone, database, world):
    from tests.records.conftest import add_students

    add_students(database, world, 25)
    phone.menu(world.mentor, record_flow.MENU_ACTIVITY)
    assert "活动名称" in phone.last_text(world.mentor)
    phone.say(world.mentor, "观影")
    card = phone.last_card(world.mentor)
    options = card["checkbox"]["option_list"]
    assert len(options) == 19 and options[-1]["id"] == "next"
    assert "第1/2页" in card["main_title"]["title"]
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [options[0]["id"], "next"])]
    )
    card = phone.last_card(world.mentor)
    assert "第2/2页" in card["main_title"]["title"]
    assert len(card["checkbox"]["option_list"]) == 30 - 18
    phone.say(world.mentor, "zhangsan")
    card = phone.last_card(world.mentor)
    assert [o["text"] for o in card["checkbox"]["option_list"] if o["is_checked"]] == [
        "张三",
        options[0]["text"],
    ] or "张三" in card["main_title"]["desc"]
    checked = [o["id"] for o in card["checkbox"]["option_list"] if o["is_checked"]]
    phone.tap(world.mentor, card, card["submit_button"]["key"], [("students", checked)])
    card = phone.last_card(world.mentor)
    assert card["main_title"]["title"] == "集体活动：时间"
    phone.say(world.mentor, "取消")
    assert phone.last_text(world.mentor) == "已取消，没有保存任何内容。"


def test_cancel_mid_flow_then_the_old_card_is_expired(phone, database, world):
    phone.say(world.mentor, "交流")
    card = phone.last_card(world.mentor)
    phone.say(world.mentor, "取消")
    assert phone.last_text(world.mentor) == "已取消，没有保存任何内容。"
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [str(world.ids["lisi"])])]
    )
    assert "操作已过期" in phone.last_text(world.mentor)
    phone.say(world.mentor, "取消")
    assert phone.last_text(world.mentor) == "当前没有进行中的操作。"
    phone.say(world.mentor, "聊选课")
    assert phone.last_text(world.mentor).startswith("抱歉，没有理解您的消息")
    assert _records(database) == []


def _age_flow(app, userid: str, minutes: int) -> None:
    state = ConversationState(app.extensions["redis"], userid)
    loaded = state.load(FLOW, now=datetime.now(UTC))
    state.put(FLOW, loaded.value, now=datetime.now(UTC) - timedelta(minutes=minutes))


def test_an_expired_flow_says_so(phone, app, database, world):
    phone.say(world.mentor, "交流")
    card = phone.last_card(world.mentor)
    _age_flow(app, world.mentor, 31)
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [str(world.ids["lisi"])])]
    )
    assert phone.last_text(world.mentor).startswith("操作已过期，请重新开始")
    assert _records(database) == []


def test_text_on_an_expired_flow_says_so(phone, app, database, world):
    phone.menu(world.mentor, record_flow.MENU_ACTIVITY)
    phone.last_text(world.mentor)
    _age_flow(app, world.mentor, 45)
    phone.say(world.mentor, "读书沙龙")
    assert phone.last_text(world.mentor).startswith("操作已过期，请重新开始")
    phone.say(world.mentor, "读书沙龙")
    assert phone.last_text(world.mentor).startswith("抱歉，没有理解您的消息")


def test_a_stale_card_of_an_earlier_step_is_refused(phone, database, world):
    phone.say(world.mentor, "交流")
    card = phone.last_card(world.mentor)
    key = card["submit_button"]["key"]
    phone.tap(world.mentor, card, key, [("students", [str(world.ids["lisi"])])])
    phone.last_card(world.mentor)
    phone.tap(world.mentor, card, key, [("students", [str(world.ids["zhangsan"])])])
    assert "已经处理过了" in phone.last_text(world.mentor)


def test_an_unknown_and_an_ambiguous_name_show_the_whole_roster(phone, database, world):
    phone.say(world.mentor, "交流 zs 孙悟空 线上 聊选课")
    card = phone.last_card(world.mentor)
    assert len(card["checkbox"]["option_list"]) == 5
    desc = card["main_title"]["desc"]
    assert "“zs”可能是" in desc and "没有找到“孙悟空”" in desc


def test_long_words_are_quoted_back_short(phone, database, world):
    """What a mentor typed comes back as a short one-line quote, never whole."""
    phone.say(world.mentor, "交流")  # the student picker
    phone.say(world.mentor, "孙\n悟空" + "孙" * 3000)
    assert phone.last_text(world.mentor).startswith(
        f"在您本学年的学生中没有找到“孙 悟空{'孙' * 16}…”"
    )
    phone.say(world.mentor, "查看 " + "三" * 5000)
    assert phone.last_text(world.mentor) == (
        f"“{'三' * 20}…”不是记录编号。请写“记录”列表里的数字编号，例如：查看 1"
    )


def test_a_blank_answer_to_the_time_question_is_asked_again(phone, database, world):
    phone.menu(world.mentor, record_flow.MENU_CONTACT)
    card = phone.last_card(world.mentor)
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [str(world.ids["lisi"])])]
    )
    assert phone.last_card(world.mentor)["main_title"]["title"] == "个别交流：时间"
    phone.say(world.mentor, "   ")
    assert phone.last_text(world.mentor).startswith("没有看懂这个时间。")
    phone.say(world.mentor, "昨天")
    assert phone.last_card(world.mentor)["main_title"]["title"] == "个别交流：几点"
    phone.say(world.mentor, "19:00")
    assert phone.last_card(world.mentor)["main_title"]["title"] == "个别交流：地点"
    assert _records(database) == []


@pytest.mark.parametrize(
    ("text", "reason", "form"),
    [
        ("活动 读书沙龙 25:00 图书馆 参加：张三", "时间“25:00”不存在", "例如：活动 读书沙龙"),
        ("活动 读书沙龙 昨天25:00 图书馆 参加：张三", "时间“25:00”不存在", "例如：活动"),
        ("交流 张三 19:75 线上 聊选课", "时间“19:75”不存在", "例如：交流 张三"),
        ("活动 读书沙龙 明天19:00 图书馆 参加：张三", "还没有到", "例如：活动 读书沙龙"),
        ("交流 张三 明天 聊选课", "还没有到", "例如：交流 张三"),
        ("交流 明天 张三 聊选课", "还没有到", "例如：交流 张三"),
        ("活动 读书沙龙 昨天 今晚 参加：张三", "“今晚”是时间，不能作为地点", "例如：活动"),
        ("活动 今晚 图书馆 参加：张三", "“今晚”是时间，不能作为活动名称", "例如：活动"),
    ],
)
def test_a_time_that_cannot_be_used_is_refused_never_stored_elsewhere(
    phone, database, world, text, reason, form
):
    """25:00 was saved as the place, 明天19:00 as the place and 明天 looked up as a name."""
    phone.say(world.mentor, text)
    answer = phone.last_text(world.mentor)
    assert reason in answer
    assert "没有保存" in answer and form in answer
    assert "没有找到" not in answer
    assert _records(database) == []


def test_a_time_alone_is_today_at_that_time(phone, database, world):
    zone = phone.app.extensions["settings"].zone
    now = datetime.now(UTC).astimezone(zone)
    if now.hour == 0 and now.minute < 10:
        pytest.skip("no earlier time today")
    earlier = (now - timedelta(minutes=5)).strftime("%H:%M")
    phone.say(world.mentor, f"活动 读书沙龙 {earlier} 图书馆 参加：张三")
    assert phone.last_text(world.mentor).startswith("已记录集体活动")
    [(record, _)] = _records(database)
    assert record.place == "图书馆"
    assert record.occurred_at.astimezone(zone).strftime("%H:%M") == earlier


def test_a_contact_has_no_name_line(phone, database, world):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    confirmed = phone.last_text(world.mentor)
    phone.say(world.mentor, "查看 1")
    shown = phone.last_text(world.mentor)
    for answer in (confirmed, shown):
        assert "名称" not in answer
        assert "内容：聊选课" in answer
    phone.say(world.mentor, "修改 1 名称 聊天")
    assert "个别交流没有名称" in phone.last_text(world.mentor)
    phone.say(world.mentor, "活动 读书沙龙 昨天19:00 图书馆 参加：张三")
    phone.last_text(world.mentor)
    phone.say(world.mentor, "记录")
    listed = phone.last_text(world.mentor)
    number = next(line[0] for line in listed.splitlines() if "读书沙龙" in line)
    phone.say(world.mentor, f"查看 {number}")
    assert "名称：读书沙龙" in phone.last_text(world.mentor)
