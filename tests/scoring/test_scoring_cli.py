"""The command-line contract, through a real process as the office and acceptance tests use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scoring_helpers import RUBRIC_2021

ISSUE_INPUT = """{"mentors": [
  {"id": "T001", "college": "计算机学院",
   "item_scores": {"B1": 2, "B2": 1.5, "M1": 8, "A1": 10},
   "bonus": ["E1"],
   "activity_ratings": [[5, 4, 4, 2], [5, 5, 3]]}
]}"""

ISSUE_OUTPUT = """{"mentors": [{"id": "T001", "college": "计算机学院", "status": "incomplete",
              "college_points": 11.5, "academy_points": 10, "satisfaction": 70.8,
              "satisfaction_points": 10, "bonus_points": 5, "total": null,
              "rank": null, "outstanding": false, "flags": []}],
 "colleges": [{"college": "计算机学院", "ranked": 0, "quota": 0, "outstanding": [],
               "flags": []}]}"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=stdin,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, data: Any, name: str = "in.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_the_issue_example_prints_exactly_the_issue_output(tmp_path: Path) -> None:
    done = run("evaluate", write(tmp_path, ISSUE_INPUT))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout) == json.loads(ISSUE_OUTPUT)
    # numbers keep their JSON type: whole values are ints, others one-decimal numbers
    assert '"academy_points": 10,' in done.stdout
    assert '"college_points": 11.5,' in done.stdout
    assert list(json.loads(done.stdout)["mentors"][0]) == list(
        json.loads(ISSUE_OUTPUT)["mentors"][0]
    )


def test_reads_standard_input_and_accepts_an_explicit_rubric(tmp_path: Path) -> None:
    done = run("evaluate", "-", "--rubric", str(RUBRIC_2021), stdin=ISSUE_INPUT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(ISSUE_OUTPUT)


def test_another_rubric_changes_the_result(tmp_path: Path) -> None:
    text = RUBRIC_2021.read_text(encoding="utf-8").replace("positive = [4, 5]", "positive = [5]")
    rubric = write(tmp_path, text, "strict.toml")
    done = run("evaluate", write(tmp_path, ISSUE_INPUT), "--rubric", rubric)
    assert done.returncode == 0, done.stderr
    mentor = json.loads(done.stdout)["mentors"][0]
    # (1/4 + 2/3) / 2 = 45.83 → 45.8 → 5 points
    assert (mentor["satisfaction"], mentor["satisfaction_points"]) == (45.8, 5)


def _mentor(**changes: Any) -> dict[str, Any]:
    mentor = {
        "id": "T001",
        "college": "计算机学院",
        "item_scores": {"B1": 2},
        "bonus": [],
        "activity_ratings": [[5]],
    }
    mentor.update(changes)
    return mentor


INVALID = [
    ("not JSON", '{"mentors": [', ["JSON"]),
    ("not an object", "[1, 2]", ["mentors"]),
    ("unknown item", {"mentors": [_mentor(item_scores={"M9": 1})]}, ["T001", "M9"]),
    ("score out of range", {"mentors": [_mentor(item_scores={"M1": 8.5})]}, ["T001", "M1"]),
    ("negative score", {"mentors": [_mentor(item_scores={"B4": -0.5})]}, ["T001", "B4"]),
    (
        "two decimals",
        '{"mentors": [{"id": "T001", "college": "A", "item_scores": {"B2": 1.25},'
        ' "bonus": [], "activity_ratings": []}]}',
        ["T001", "B2", "1.25"],
    ),
    ("score as a string", {"mentors": [_mentor(item_scores={"B1": "2"})]}, ["T001", "B1"]),
    ("score as a boolean", {"mentors": [_mentor(item_scores={"B1": True})]}, ["T001", "B1"]),
    ("rating level 6", {"mentors": [_mentor(activity_ratings=[[5, 6]])]}, ["T001", "S1", "6"]),
    ("rating level 0", {"mentors": [_mentor(activity_ratings=[[0]])]}, ["T001", "S1", "0"]),
    (
        "rating 4.5",
        '{"mentors": [{"id": "T001", "college": "A", "item_scores": {},'
        ' "bonus": [], "activity_ratings": [[4.5]]}]}',
        ["T001", "S1", "4.5"],
    ),
    ("duplicate mentor id", {"mentors": [_mentor(), _mentor()]}, ["T001", "重复"]),
    (
        "missing college",
        {"mentors": [{k: v for k, v in _mentor().items() if k != "college"}]},
        ["T001", "college"],
    ),
    (
        "missing id",
        {"mentors": [{k: v for k, v in _mentor().items() if k != "id"}]},
        ["第 1 位导师", "id"],
    ),
    (
        "missing bonus",
        {"mentors": [{k: v for k, v in _mentor().items() if k != "bonus"}]},
        ["T001", "bonus"],
    ),
    ("unknown bonus", {"mentors": [_mentor(bonus=["E3"])]}, ["T001", "E3"]),
    (
        "NaN",
        '{"mentors": [{"id": "T001", "college": "A", "item_scores": {"B1": NaN},'
        ' "bonus": [], "activity_ratings": []}]}',
        ["NaN"],
    ),
    (
        "duplicate item key",
        '{"mentors": [{"id": "T001", "college": "A",'
        ' "item_scores": {"B1": 1, "B1": 2}, "bonus": [], "activity_ratings": []}]}',
        ["T001", "B1"],
    ),
    ("deeply nested", "[" * 100000, ["JSON"]),
]


@pytest.mark.parametrize(("name", "data", "words"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_input_exits_2_with_one_line_per_problem(
    tmp_path: Path, name: str, data: Any, words: list[str]
) -> None:
    done = run("evaluate", write(tmp_path, data))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0]


def test_several_problems_give_several_lines_naming_each_mentor(tmp_path: Path) -> None:
    data = {
        "mentors": [
            _mentor(id="T1", item_scores={"M1": 9, "B1": 2.25}),
            _mentor(id="T2", activity_ratings=[[7]]),
            _mentor(id="T1"),
        ]
    }
    done = run("evaluate", write(tmp_path, data))
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 4
    assert sum("T1" in line and "M1" in line for line in lines) == 1
    assert sum("T1" in line and "B1" in line for line in lines) == 1
    assert sum("T2" in line and "S1" in line for line in lines) == 1
    assert sum("T1" in line and "重复" in line for line in lines) == 1


def test_a_rating_level_of_4_5_is_reported_as_the_number_it_is(tmp_path: Path) -> None:
    data = (
        '{"mentors": [{"id": "T001", "college": "A", "item_scores": {"B1": "2"},'
        ' "bonus": [], "activity_ratings": [[5, 4.5]]}]}'
    )
    done = run("evaluate", write(tmp_path, data))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "评价等级 4.5 不是 1–5 的整数" in lines[1], lines
    assert '"4.5"' not in done.stderr  # a number, not a string
    assert '分数 "2" 不是数字' in lines[0]  # a string stays a string


def test_college_names_are_compared_after_trimming_spaces(tmp_path: Path) -> None:
    scores = {item: 1 for item in ("B1", "B2", "B3", "B4", "B5", "B6", "M1", "M2", "M3")}
    scores |= {item: 1 for item in ("M4", "M5", "M6", "M7", "M8", "A1", "A2", "A3")}
    mentors = [
        _mentor(id="T1", college="计算机学院", item_scores=scores | {"B1": 2}),
        _mentor(id="T2", college=" 计算机学院 ", item_scores=scores),
        _mentor(id="T3", college="计算机学院\u3000", item_scores=scores),
    ]
    done = run("evaluate", write(tmp_path, {"mentors": mentors}))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [c["college"] for c in result["colleges"]] == ["计算机学院"]
    assert result["colleges"][0]["ranked"] == 3
    assert [(m["college"], m["rank"]) for m in result["mentors"]] == [
        ("计算机学院", 1),
        ("计算机学院", 2),
        ("计算机学院", 2),
    ]


def test_missing_input_file_exits_2(tmp_path: Path) -> None:
    done = run("evaluate", str(tmp_path / "nope.json"))
    assert done.returncode == 2 and done.stdout == ""
    assert "nope.json" in done.stderr and "Traceback" not in done.stderr


def test_broken_rubric_exits_2_naming_the_rule(tmp_path: Path) -> None:
    text = RUBRIC_2021.read_text(encoding="utf-8").replace(
        "max = 4   # the regulation's text says 3", "max = 3   # the regulation's text says 3"
    )
    rubric = write(tmp_path, text, "broken.toml")
    evaluate = ("evaluate", write(tmp_path, ISSUE_INPUT), "--rubric", rubric)
    for args in (("rubric", "check", rubric), evaluate):
        done = run(*args)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1
        assert "39" in done.stderr and "40" in done.stderr


def test_rubric_check_prints_the_table() -> None:
    done = run("rubric", "check", str(RUBRIC_2021))
    assert done.returncode == 0, done.stderr
    for words in (
        "M8",
        "完满教育与书院育人项目",
        "90.0–100.0 → 20 分",
        "60.1–74.9 → 10 分",
        "标记为线上的记录不计入：M2",
        "教学周至少 3 个教学日、月份至少 10 个教学日才计入",
    ):
        assert words in done.stdout


def test_usage_errors_exit_2_without_stdout() -> None:
    done = run("evaluate")
    assert done.returncode == 2 and done.stdout == ""
    assert "usage" in done.stderr
