"""The usage examples of 异议 and 更正 name an item of the rubric that applies, asked of the
rubric (what a semester plan counts for), not written into the handler."""

from __future__ import annotations

from pathlib import Path

from bot.core.rubrics import example_item
from scoring import load_rubric


def _texts(phone, userid: str) -> list[str]:
    return [m[m["msgtype"]]["content"] for m in phone.new(userid) if m["msgtype"] == "text"]


def test_an_empty_objection_outside_publication_says_why_with_an_example(phone, world):
    phone.say(world.mentor, "异议")  # during publication it starts the 提出异议 steps
    assert _texts(phone, world.mentor) == [
        "现在不在考核结果公示期，不能提出异议。\n"
        "公示期间可以这样提出：异议 B4 我上传了学期计划，请核实"
    ]


def test_a_short_correction_is_answered_with_an_example_from_the_rubric(phone, world):
    phone.say(world.academy_admin, "更正 3 B4")
    assert _texts(phone, world.academy_admin) == [
        "请写作：更正 异议编号（或导师工号） 项目 新分数 原因\n例：更正 3 B4 4.5 已核实学期计划"
    ]
    phone.say(world.academy_admin, "更正 3 B4 4.5")
    assert _texts(phone, world.academy_admin) == [
        "更正分数必须写明原因。\n"
        "请写作：更正 异议编号（或导师工号） 项目 新分数 原因\n例：更正 3 B4 4.5 已核实学期计划"
    ]


def test_the_example_item_is_what_the_rubric_counts_a_semester_plan_for():
    assert example_item(load_rubric()) == "B4"  # 2021: a semester plan evidences B4
    other = load_rubric(Path(__file__).parents[1] / "scoring" / "rubrics" / "other-regulation.toml")
    assert other.items_for("semester_plan") == ()
    assert example_item(other) == "W1"  # counts for nothing there: the rubric's first item
