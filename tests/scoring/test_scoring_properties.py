"""Properties of the results, for any valid input (hypothesis)."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_helpers import rubric

from scoring.engine import MentorInput, annual_satisfaction, evaluate
from scoring.numbers import round_to

RUBRIC = rubric()
SCORED = RUBRIC.scored_items
COLLEGES = ["计算机学院", "文学院", "商学院"]


def score(maximum: Decimal) -> st.SearchStrategy[Decimal]:
    return st.integers(0, int(maximum * 10)).map(lambda k: Decimal(k) / 10)


scores = st.fixed_dictionaries({item.id: score(item.max) for item in SCORED})
partial_scores = st.dictionaries(
    st.sampled_from([item.id for item in SCORED]), st.just(Decimal(1)), max_size=len(SCORED)
)
activity = st.lists(st.integers(1, 5), max_size=12).map(tuple)
activities = st.lists(activity, max_size=6).map(tuple)
bonus = st.frozensets(st.sampled_from(["E1", "E2"]))


@st.composite
def mentors(draw: st.DrawFn, min_size: int = 0) -> list[MentorInput]:
    count = draw(st.integers(min_size, 25))
    result = []
    for n in range(count):
        complete = draw(st.booleans()) or draw(st.booleans())
        result.append(
            MentorInput(
                id=f"T{n:03d}",
                college=draw(st.sampled_from(COLLEGES)),
                item_scores=draw(scores if complete else partial_scores),
                bonus=draw(bonus),
                activity_ratings=draw(activities),
            )
        )
    return result


@given(mentors())
def test_totals_lie_within_0_and_105(group: list[MentorInput]) -> None:
    for m in evaluate(group, RUBRIC).mentors:
        if m.status == "complete":
            assert m.total is not None and 0 <= m.total <= 105
            assert m.total == (
                m.college_points + m.academy_points + m.satisfaction_points + m.bonus_points
            )
        else:
            assert m.total is None and m.rank is None and not m.outstanding


@given(scores, bonus, activities, st.data())
def test_raising_an_item_score_never_lowers_the_total(
    item_scores: dict[str, Decimal], bonus: frozenset[str], ratings: tuple, data: st.DataObject
) -> None:
    item = data.draw(st.sampled_from(SCORED))
    higher = data.draw(score(item.max).filter(lambda s: s >= item_scores[item.id]))
    before = evaluate([MentorInput("T", "A", item_scores, bonus, ratings)], RUBRIC).mentors[0]
    raised = {**item_scores, item.id: higher}
    after = evaluate([MentorInput("T", "A", raised, bonus, ratings)], RUBRIC).mentors[0]
    assert before.total is not None and after.total is not None
    assert after.total - before.total == higher - item_scores[item.id]


@given(mentors())
def test_ranking_is_consistent_with_totals(group: list[MentorInput]) -> None:
    result = evaluate(group, RUBRIC)
    for college in result.colleges:
        ranked = [m for m in result.mentors if m.college == college.college and m.rank]
        assert college.ranked == len(ranked)
        for m in ranked:
            assert m.rank == 1 + sum(1 for o in ranked if o.total > m.total)
        chosen = {m.id for m in ranked if m.outstanding}
        assert chosen == set(college.outstanding)
        assert len(chosen) >= college.quota
        if ranked:
            assert college.quota >= 1
            lowest_in = min(m.total for m in ranked if m.outstanding)
            assert all(m.total < lowest_in for m in ranked if not m.outstanding)
            assert (len(chosen) > college.quota) == ("tie_at_cutoff" in college.flags)


@given(mentors(min_size=1), st.randoms(use_true_random=False))
def test_input_order_is_irrelevant(group: list[MentorInput], rnd: random.Random) -> None:
    shuffled = list(group)
    rnd.shuffle(shuffled)
    first, second = evaluate(group, RUBRIC), evaluate(shuffled, RUBRIC)
    assert {m.id: m for m in first.mentors} == {m.id: m for m in second.mentors}

    def colleges(result: object) -> dict:
        return {
            c.college: (c.ranked, c.quota, frozenset(c.outstanding), c.flags)
            for c in result.colleges  # type: ignore[attr-defined]
        }

    assert colleges(first) == colleges(second)


@settings(max_examples=200)
@given(activities)
def test_satisfaction_is_the_exact_mean_of_activity_shares(ratings: tuple) -> None:
    rated = [a for a in ratings if a]
    got = annual_satisfaction(ratings, RUBRIC)
    if not rated:
        assert got is None
        return
    mean = sum(Fraction(sum(1 for r in a if r >= 4), len(a)) for a in rated) / len(rated)
    assert got == round_to(mean * 100, 1)
    assert 0 <= got <= 100
