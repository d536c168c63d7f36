"""Another regulation is a rubric file, not code: a made-up rubric with other items, sections,
bands, bonus and another [records] table loads, folds evidence and computes results."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from scoring import (
    Calendar,
    DateRange,
    MentorInput,
    RecordFact,
    RecordKind,
    Semester,
    evaluate,
    evidence_figures,
    load_rubric,
)

OTHER = load_rubric(Path(__file__).parent / "rubrics" / "other-regulation.toml")


def _semester(name: str, start: date, end: date, week: date) -> Semester:
    return Semester(name, start, end, (DateRange(week, week + timedelta(days=4)),))


CALENDAR = Calendar.for_year(
    2025,
    [
        _semester("秋", date(2025, 9, 1), date(2025, 12, 31), date(2025, 9, 8)),
        _semester("春", date(2026, 3, 1), date(2026, 6, 30), date(2026, 3, 2)),
    ],
)


def test_records_count_for_the_items_the_other_rubric_names() -> None:
    facts = [
        # W1: a contact, a counsellor talk or a care record each month; 3 of 8 months met
        RecordFact("T1", RecordKind.CONTACT, date(2025, 9, 10), None),
        RecordFact("T1", RecordKind.COUNSELLOR_TALK, date(2025, 10, 10), None),
        RecordFact("T1", RecordKind.CARE, date(2026, 3, 3), None),
        RecordFact("T1", RecordKind.LEADER_TALK, date(2025, 11, 3), None),  # counts for nothing
        # W2: a reading activity in autumn only (stored in 2021's words: 读书沙龙 names 读书)
        RecordFact("T1", RecordKind.GROUP_ACTIVITY, date(2025, 9, 20), "读书沙龙"),
        RecordFact("T1", RecordKind.GROUP_ACTIVITY, date(2026, 3, 20), "聚餐"),
        # K1: two in the year: a booking and a community activity
        RecordFact("T1", RecordKind.ACADEMY_BOOKING, date(2026, 4, 1), None),
        RecordFact("T1", RecordKind.GROUP_ACTIVITY, date(2026, 5, 1), "社区活动"),
    ]
    figures = evidence_figures(facts, CALENDAR, OTHER)["T1"]
    assert [item.item for item in figures.items] == ["W1", "W2", "K1"]
    w1, w2, k1 = (figures.item(i) for i in ("W1", "W2", "K1"))
    assert (w1.requirements[0].periods, w1.requirements[0].periods_met) == (8, 3)
    assert w1.suggested == Decimal("7.5")  # 20 × 3/8
    assert (w2.requirements[0].records, w2.suggested) == (1, Decimal(5))  # 10 × 1/2
    assert (k1.requirements[0].records, k1.suggested) == (2, Decimal(10))


def test_results_are_computed_with_the_other_rubric() -> None:
    mentors = [
        MentorInput("T1", "甲学院", {"W1": Decimal(18), "W2": Decimal(9), "K1": Decimal(8)},
                    frozenset({"X1"}), ((2, 2, 2, 1),)),
        MentorInput("T2", "甲学院", {"W1": Decimal(20), "W2": Decimal(10), "K1": Decimal(10)},
                    frozenset(), ((2, 2),)),
        MentorInput("T3", "甲学院", {"W1": Decimal(10)}),
    ]  # fmt: skip
    result = evaluate(mentors, OTHER)
    first, second, third = result.mentors
    assert (first.college_points, first.academy_points) == (Decimal(27), Decimal(8))
    assert (first.satisfaction, first.satisfaction_points) == (Decimal(75), Decimal(4))
    assert (first.bonus_points, first.total) == (Decimal(2), Decimal(41))
    assert (second.satisfaction_points, second.total) == (Decimal(10), Decimal(50))
    assert [m.rank for m in result.mentors] == [2, 1, None]
    assert third.status == "incomplete" and set(third.missing) == {"W2", "K1"}
    # outstanding: half of the two ranked mentors
    assert result.college("甲学院").outstanding == ("T2",)


def test_the_other_rubric_s_words_classify_titles() -> None:
    assert OTHER.activity_type("春季读书会") == "读书"
    assert OTHER.activity_type("师生聚餐") == "一般活动"
    assert OTHER.items_for(RecordKind.GROUP_ACTIVITY, OTHER.activity_type("社区清洁")) == ("K1",)
