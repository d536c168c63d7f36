"""The scoring workbook on its own: built, read back, every problem named; cells escaped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.cycle import workbook
from bot.cycle.workbook import ItemColumn, MentorRow
from tests.cycle.conftest import save, workbook_rows

ITEMS = [ItemColumn("B1", "立德树人", Decimal(2)), ItemColumn("M1", "个别指导", Decimal(8))]
MENTORS = {"1001": "甲", "1002": "乙"}


def _book(*scores: tuple[str, object, object]) -> bytes:
    content = workbook.build(
        "测试", ITEMS, [MentorRow(n, MENTORS.get(n, "?"), "学院") for n, _, _ in scores]
    )
    book, sheet, headers = workbook_rows(content)
    for row, (number, b1, m1) in enumerate(scores, start=4):
        sheet.cell(row, 1, number)
        sheet.cell(row, headers["B1 评分（满分 2）"], b1)
        sheet.cell(row, headers["M1 评分（满分 8）"], m1)
    return save(book)


def test_good_scores_are_read_exactly():
    parsed = workbook.parse(_book(("1001", 2, "7.5"), ("1002", None, 0.5)), ITEMS, MENTORS)
    assert parsed.problems == []
    assert parsed.scores == {
        "1001": {"B1": Decimal(2), "M1": Decimal("7.5")},
        "1002": {"M1": Decimal("0.5")},
    }


def test_every_problem_is_named_by_row_and_column():
    parsed = workbook.parse(
        _book(("1001", -1, "八"), ("1001", 1, 1), ("", 1, 1), ("1002", True, 8.05)),
        ITEMS,
        MENTORS,
    )
    assert parsed.scores == {}
    assert parsed.problems == [
        "第 4 行 D 列（B1）：分数 -1 超出 0–2",
        "第 4 行 E 列（M1）：“八”不是数字",
        "第 5 行：工号 1001 与第 4 行重复",
        "第 6 行 A 列：工号为空",
        "第 7 行 D 列（B1）：“True”不是分数",
        "第 7 行 E 列（M1）：分数 8.05 超出 0–8",
    ]


def test_an_unexpected_item_column_is_named():
    parsed = workbook.parse(_book(("1001", 1, 1)), ITEMS[:1], MENTORS)
    assert parsed.problems == ["第 3 行 E 列：“M1”不是本表应评的项目"]


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("王老师", "王老师"),
        (5, 5),
    ],
)
def test_formula_like_text_is_escaped(value, escaped):
    assert workbook.escape_cell(value) == escaped


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-Infinity", "inf", "1e999999999", "1e-99999"])
def test_a_cell_that_is_not_a_finite_number_is_named(value):
    parsed = workbook.parse(_book(("1001", value, 1)), ITEMS, MENTORS)
    assert parsed.scores == {}
    assert parsed.problems == [f"第 4 行 D 列（B1）：“{value}”不是数字"]


BONUS = [ItemColumn("B1", "立德树人", Decimal(2)), ItemColumn("E1", "学科竞赛", Decimal(5), True)]


def _bonus_book(*rows: tuple[str, object, object, object]) -> bytes:
    content = workbook.build("测试", BONUS, [MentorRow(n, "?", "学院") for n, *_ in rows])
    book, sheet, headers = workbook_rows(content)
    assert "E1 评分（满分 5）" not in headers
    for row, (number, b1, achieved, note) in enumerate(rows, start=4):
        sheet.cell(row, 1, number)
        sheet.cell(row, headers["B1 评分（满分 2）"], b1)
        sheet.cell(row, headers["E1 是否达成（是/否）"], achieved)
        sheet.cell(row, headers["E1 竞赛或论文名称"], note)
    return save(book)


def test_a_bonus_item_is_achieved_or_not_with_the_competition_named():
    parsed = workbook.parse(
        _bonus_book(
            ("1001", 2, "是", "全国大学生数学建模竞赛 省二等奖"), ("1002", 1, " 否 ", None)
        ),
        BONUS,
        MENTORS,
    )
    assert parsed.problems == []
    assert parsed.scores == {
        "1001": {"B1": Decimal(2), "E1": Decimal(5)},  # achieved: the item's maximum
        "1002": {"B1": Decimal(1), "E1": Decimal(0)},
    }
    assert parsed.notes == {"1001": {"E1": "全国大学生数学建模竞赛 省二等奖"}}
    left_empty = workbook.parse(_bonus_book(("1001", 2, None, None)), BONUS, MENTORS)
    assert left_empty.scores == {"1001": {"B1": Decimal(2)}}


@pytest.mark.parametrize("value", [0.5, 5, "0.5", "yes", "达成", "=1"])
def test_a_bonus_item_refuses_anything_but_yes_or_no(value):
    parsed = workbook.parse(_bonus_book(("1001", 2, value, "某竞赛")), BONUS, MENTORS)
    assert parsed.scores == {}
    [problem] = parsed.problems
    assert problem.startswith("第 4 行 E 列（E1）：")
    assert "“是”或“否”" in problem


def test_yes_needs_the_competition_or_paper_named():
    parsed = workbook.parse(_bonus_book(("1001", 2, "是", "  ")), BONUS, MENTORS)
    assert parsed.problems == [
        "第 4 行 E 列（E1）：选“是”时请在“E1 竞赛或论文名称”列写明竞赛或论文名称"
    ]


def test_a_workbook_without_the_name_column_is_refused():
    content = _bonus_book(("1001", 2, "否", None))
    book, sheet, headers = workbook_rows(content)
    sheet.delete_cols(headers["E1 竞赛或论文名称"])
    assert workbook.parse(save(book), BONUS, MENTORS).problems == ["缺少列：E1 竞赛或论文名称"]
