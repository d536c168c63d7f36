from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from scoring_helpers import cases, expected, mentor, ratings, rubric

from scoring.engine import (
    InputError,
    MentorInput,
    activity_summary,
    annual_satisfaction,
    band_points,
    evaluate,
    quota,
)


def _ids(table: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in table]


@pytest.mark.parametrize("case", cases()["satisfaction"], ids=_ids(cases()["satisfaction"]))
def test_satisfaction(case: dict[str, Any]) -> None:
    satisfaction = annual_satisfaction(ratings(case["ratings"]), rubric())
    assert satisfaction == expected(case["satisfaction"])
    assert band_points(satisfaction, rubric()) == case["points"]


@pytest.mark.parametrize(
    ("ranked", "seats"),
    [pair for case in cases()["quota"] for pair in zip(case["ranked"], case["quota"], strict=True)],
)
def test_quota_rounds_half_up_with_a_minimum_of_one(ranked: int, seats: int) -> None:
    assert quota(ranked, rubric()) == seats


@pytest.mark.parametrize("case", cases()["evaluate"], ids=_ids(cases()["evaluate"]))
def test_evaluate(case: dict[str, Any]) -> None:
    result = evaluate([mentor(spec) for spec in case["mentors"]], rubric())
    assert [m.id for m in result.mentors] == [spec["id"] for spec in case["mentors"]]
    for want in case["expect"].get("mentors", []):
        got = result.mentor(want["id"])
        for field, value in want.items():
            assert getattr(got, field) == expected(value), (want["id"], field)
    for want in case["expect"].get("colleges", []):
        got = result.college(want["college"])
        for field, value in want.items():
            assert getattr(got, field) == expected(value), (want["college"], field)


@pytest.mark.parametrize("case", cases()["invalid"], ids=_ids(cases()["invalid"]))
def test_invalid_input_names_mentor_and_item(case: dict[str, Any]) -> None:
    with pytest.raises(InputError) as raised:
        evaluate([mentor(case["mentor"])], rubric())
    assert len(raised.value.problems) == 1
    for words in case["problems"]:
        assert words in raised.value.problems[0]


def test_every_problem_is_reported_once_per_line() -> None:
    bad = MentorInput(
        "T1",
        "A",
        {"M1": Decimal(9), "B2": Decimal("1.25")},
        frozenset({"X"}),
        ((5, 7),),
    )
    with pytest.raises(InputError) as raised:
        evaluate([bad, MentorInput("T1", "A")], rubric())
    problems = raised.value.problems
    assert len(problems) == 5
    assert all("\n" not in p and "T1" in p for p in problems)
    assert any("重复" in p for p in problems)


def test_incomplete_result_keeps_partial_points_and_lists_missing_items() -> None:
    result = evaluate([MentorInput("T", "A", {"B1": Decimal(2), "A2": Decimal(3)})], rubric())
    m = result.mentors[0]
    assert (m.status, m.total, m.rank) == ("incomplete", None, None)
    assert (m.college_points, m.academy_points) == (2, 3)
    assert m.missing[0] == "B2" and "A2" not in m.missing and len(m.missing) == 15


def test_no_ratings_is_flagged_never_a_silent_default() -> None:
    m = evaluate([mentor({"id": "T", "college": "A", "fill": "max"})], rubric()).mentors[0]
    assert m.satisfaction is None
    assert m.satisfaction_points == 0
    assert m.flags == ("no_ratings",)
    assert m.total == 80


def test_activity_summary_respects_the_anonymity_threshold() -> None:
    assert activity_summary((5, 4), rubric()) is None
    summary = activity_summary((5, 4, 2), rubric())
    assert summary is not None
    assert (summary.ratings, summary.positive) == (3, 2)
    assert summary.satisfaction == Decimal("66.7")
    assert summary.by_level == ((5, 1), (4, 1), (3, 0), (2, 1), (1, 0))


def test_empty_input_gives_empty_results() -> None:
    result = evaluate([], rubric())
    assert result.mentors == () and result.colleges == ()
