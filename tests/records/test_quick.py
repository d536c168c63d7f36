"""Quick text → draft record (pure, table-driven)."""

from datetime import date, time

import pytest

from bot.core.models import RecordKind
from bot.records.dates import DateError, When
from bot.records.quick import QuickTextError, parse_quick
from scoring import load_rubric

RUBRIC = load_rubric()

TODAY = date(2025, 11, 21)
STUDENT_NAMES = {"张三", "李四", "王五", "赵六"}


def parse(text):
    return parse_quick(
        text,
        today=TODAY,
        year_start=date(2025, 9, 1),
        year_end=date(2026, 8, 31),
        is_name=STUDENT_NAMES.__contains__,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "交流 张三 李四 线上 聊选课",
            dict(kind=RecordKind.CONTACT, names=["张三", "李四"], online=True, note="聊选课"),
        ),
        (
            "交流 张三 李四 昨天 图书馆 讨论考研规划",
            dict(
                names=["张三", "李四"],
                when=When(date(2025, 11, 20)),
                place="图书馆",
                note="讨论考研规划",
            ),
        ),
        ("交流 张三、李四 聊选课", dict(names=["张三", "李四"], note="聊选课", place=None)),
        ("交流 zs 周三 19:00 线上", dict(names=["zs"], when=When(date(2025, 11, 19), time(19)))),
        ("交流 张三 图书馆", dict(names=["张三"], place="图书馆", note=None)),
        ("交流 孙七 聊天", dict(names=["孙七"], note="聊天")),  # unknown, asked about later
        ("交流 张三 孙七", dict(names=["张三"], note="孙七")),
        ("交流 张三 孙七 线上 聊天", dict(names=["张三", "孙七"], note="聊天")),
        ("交流 张三 孙七 昨天 聊天", dict(names=["张三", "孙七"], note="聊天")),
        ("交流 张三 孙七 聊天", dict(names=["张三"], note="孙七 聊天", place=None)),
        (
            "活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四、王五",
            dict(
                kind=RecordKind.GROUP_ACTIVITY,
                title="读书沙龙",
                activity_type="读书沙龙",
                when=When(date(2025, 11, 20), time(19)),
                place="图书馆",
                names=["张三", "李四", "王五"],
                online=False,
            ),
        ),
        (
            "活动 观影 昨天 书院影音室 参加：张三 李四 大家讨论热烈",
            dict(title="观影", names=["张三", "李四"], place="书院影音室", note="大家讨论热烈"),
        ),
        ("活动 考研经验分享会 今天", dict(title="考研经验分享会", activity_type="考研", names=[])),
        (
            "沟通 辅导员 昨天 了解学生近况",
            dict(
                kind=RecordKind.COUNSELLOR_TALK, note="了解学生近况", when=When(date(2025, 11, 20))
            ),
        ),
        ("沟通 与辅导员 今天 谈学业", dict(kind=RecordKind.COUNSELLOR_TALK)),
        ("沟通 副院长 今天 汇报工作", dict(kind=RecordKind.LEADER_TALK, note="汇报工作")),
        ("关爱 张三 最近情绪低落 约了下周再谈", dict(kind=RecordKind.CARE, names=["张三"])),
        (
            "宣传 读书沙龙推文素材已交学院",
            dict(kind=RecordKind.PUBLICITY, title="读书沙龙推文素材已交学院"),
        ),
        (
            "书院 昨天 书院活动室 预约读书角",
            dict(kind=RecordKind.ACADEMY_BOOKING, place="书院活动室"),
        ),
        ("资源 邀请企业工程师来校交流", dict(kind=RecordKind.EXTERNAL_RESOURCE)),
        ("月计划 两次交流 一次观影", dict(kind=RecordKind.MONTHLY_PLAN, title="两次交流 一次观影")),
        ("学期计划 每月一次沙龙", dict(kind=RecordKind.SEMESTER_PLAN)),
        ("月总结 完成沙龙一次", dict(kind=RecordKind.MONTHLY_SUMMARY)),
    ],
)
def test_parse_quick(text, expected):
    """``activity_type``: the type the parsed title names in the rubric's words, which the
    record keeps when it is saved."""
    record = parse(text)
    for name, value in expected.items():
        if name == "activity_type":
            assert RUBRIC.activity_type(record.title) == value
        else:
            assert getattr(record, name) == value, name


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("沟通 张三 聊天", "请说明沟通对象"),
        ("活动 今天", "请写上活动名称"),
        ("宣传 今天", "请在命令后写上内容"),
    ],
)
def test_incomplete_quick_text_says_what_to_send(text, fragment):
    with pytest.raises(QuickTextError, match=fragment):
        parse(text)


def test_impossible_date_in_quick_text():
    with pytest.raises(DateError):
        parse("交流 张三 2月30日 聊天")


@pytest.mark.parametrize(
    ("title", "kind", "items"),
    [
        ("读书沙龙", "读书沙龙", ["M2", "M5"]),
        ("《乔布斯传》读书分享", "读书分享", ["M2", "M5"]),
        ("人工智能小讲座", "小讲座", ["M2", "M4"]),
        ("完满教育项目", "完满教育", ["M2", "M8"]),
        ("书院社区活动", "社区活动", ["M2", "A1"]),
        ("周末爬山", "其他", ["M2"]),
    ],
)
def test_activity_types_map_to_items(title, kind, items):
    assert RUBRIC.activity_type(title) == kind
    assert RUBRIC.items_for(RecordKind.GROUP_ACTIVITY, kind) == tuple(items)


def test_items_of_other_kinds():
    assert RUBRIC.items_for(RecordKind.CONTACT) == ("M1",)  # career guidance: also M7
    assert RUBRIC.items_for(RecordKind.CARE) == ("B5",)
    assert RUBRIC.items_for(RecordKind.LEADER_TALK) == ("M3",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("活动 读书沙龙 25:00 图书馆 参加：张三", "时间“25:00”不存在"),
        ("活动 读书沙龙 11月20日 25点 图书馆", "时间“25点”不存在"),
        ("交流 张三 线上 25:00 聊天", "时间“25:00”不存在"),
        ("活动 读书沙龙 昨天 晚上 参加：张三", "“晚上”是时间，不能作为地点"),
        ("活动 今晚 图书馆", "“今晚”是时间，不能作为活动名称"),
    ],
)
def test_a_time_is_never_taken_as_a_name_or_a_place(text, fragment):
    with pytest.raises(DateError, match=fragment):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("活动 读书沙龙 19:00 图书馆", dict(when=When(TODAY, time(19)), place="图书馆")),
        ("交流 张三 明天 聊天", dict(names=["张三"], when=When(date(2025, 11, 22)))),
        ("交流 明天 聊天", dict(names=[], when=When(date(2025, 11, 22)))),
        ("活动 读书沙龙 明天19:00 图书馆", dict(when=When(date(2025, 11, 22), time(19)))),
    ],
)
def test_a_time_or_a_day_to_come_is_read_as_a_time(text, expected):
    """The caller then refuses a moment to come (check_moment), saying why."""
    record = parse(text)
    for name, value in expected.items():
        assert getattr(record, name) == value, name
