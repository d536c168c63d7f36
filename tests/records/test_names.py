"""Matching a typed name among a mentor's own students (pure, table-driven)."""

import pytest

from bot.records.names import Outcome, Student, could_be_name, match_name, search, spellings

ROSTER = [
    Student(1, "张三"),
    Student(2, "李四"),
    Student(3, "周松"),  # zs, like 张三
    Student(4, "王五"),
    Student(5, "王五"),  # two students with the same name
    Student(6, "欧阳娜娜"),
    Student(7, "吕布"),
]


@pytest.mark.parametrize(
    ("query", "outcome", "ids"),
    [
        ("张三", Outcome.FOUND, [1]),
        ("zhangsan", Outcome.FOUND, [1]),
        ("ZhangSan", Outcome.FOUND, [1]),
        ("zhang san", Outcome.FOUND, [1]),
        ("ls", Outcome.FOUND, [2]),
        ("lisi", Outcome.FOUND, [2]),
        ("zs", Outcome.AMBIGUOUS, [1, 3]),
        ("王五", Outcome.AMBIGUOUS, [4, 5]),
        ("oynn", Outcome.FOUND, [6]),
        ("ouyangnana", Outcome.FOUND, [6]),
        ("lvbu", Outcome.FOUND, [7]),
        ("赵六", Outcome.UNKNOWN, []),
        ("张", Outcome.UNKNOWN, []),  # part of a name is not a name
        ("zhang", Outcome.UNKNOWN, []),
        ("", Outcome.UNKNOWN, []),
    ],
)
def test_match_name(query, outcome, ids):
    match = match_name(query, ROSTER)
    assert match.outcome == outcome
    assert [student.id for student in match.candidates] == ids


def test_only_the_given_students_are_searched():
    assert match_name("张三", [Student(2, "李四")]).outcome == Outcome.UNKNOWN


def test_spellings():
    assert spellings("张三") == ("zhangsan", "zs")
    assert spellings("欧阳娜娜") == ("ouyangnana", "oynn")


@pytest.mark.parametrize(
    ("query", "ids"),
    [("张", [1]), ("zh", [1, 3]), ("王", [4, 5]), ("oy", [6]), ("x", []), ("", [])],
)
def test_search_for_the_picker(query, ids):
    assert [student.id for student in search(query, ROSTER)] == ids


@pytest.mark.parametrize(
    ("token", "expected"),
    [("张三", True), ("欧阳娜娜", True), ("zs", True), ("线上", True), ("11月20日", False)],
)
def test_could_be_name(token, expected):
    assert could_be_name(token) is expected
