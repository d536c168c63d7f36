from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from scoring_helpers import rubric, rubric_data

from scoring.evidence import (
    Calendar,
    DateRange,
    Encoding,
    RecordFact,
    RecordKind,
    Semester,
    evidence_figures,
    suggest,
)
from scoring.rubric import Rubric, rubric_from_dict


def week(monday: date) -> DateRange:
    return DateRange(monday, monday + timedelta(days=4))


# 2025-2026: 4 teaching weeks in each semester; the counted months are Sep–Jan, Feb–Jul.
AUTUMN_WEEKS = [date(2025, 9, 8), date(2025, 9, 15), date(2025, 10, 13), date(2025, 11, 3)]
SPRING_WEEKS = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 4, 6), date(2026, 5, 11)]
CALENDAR = Calendar.for_year(
    2025,
    [
        Semester("2025秋", date(2025, 9, 1), date(2026, 1, 16), tuple(map(week, AUTUMN_WEEKS))),
        Semester("2026春", date(2026, 2, 23), date(2026, 7, 3), tuple(map(week, SPRING_WEEKS))),
    ],
)


def fact(
    kind: RecordKind, day: date, activity: str | None = None, mentor: str = "T1"
) -> RecordFact:
    return RecordFact(mentor, kind, day, activity)


def records() -> list[RecordFact]:
    contact, group = RecordKind.CONTACT, RecordKind.GROUP_ACTIVITY
    facts = []
    # M1: six weeks with 2+ contacts, one week with 1, one with none; vacation contacts too
    for monday in AUTUMN_WEEKS + SPRING_WEEKS[:2]:
        facts += [fact(contact, monday), fact(contact, monday + timedelta(2))]
    facts.append(fact(contact, SPRING_WEEKS[2]))
    facts += [fact(contact, date(2026, 1, 28))] * 3  # winter vacation: not a teaching week
    # M2: 3 in autumn (counts 2), 1 in spring → 3/4; the reading salon also evidences M5
    facts += [
        fact(group, date(2025, 9, 20), "读书沙龙"),
        fact(group, date(2025, 10, 1)),
        fact(group, date(2025, 12, 1)),
    ]
    # M3: counsellor in autumn only, college leader in both → (1/2 + 1) / 2
    facts += [
        fact(RecordKind.COUNSELLOR_TALK, date(2025, 10, 9)),
        fact(RecordKind.LEADER_TALK, date(2025, 10, 9)),
        fact(RecordKind.LEADER_TALK, date(2026, 4, 9)),
    ]
    # A1: three bookings in spring (counts 2 of 2), none in autumn → 1/2
    facts += [fact(RecordKind.ACADEMY_BOOKING, date(2026, 5, d)) for d in (1, 2, 3)]
    # M6: a month counts when it has 10 teaching days (September, March): September has
    # items, October is not counted (one teaching week) → 1/2
    facts += [fact(RecordKind.PUBLICITY, date(2025, 9, d)) for d in (2, 3)]
    facts.append(fact(RecordKind.PUBLICITY, date(2025, 10, 2)))
    # B4: both semester plans, a monthly plan every month, no summaries → 2/3
    facts += [fact(RecordKind.SEMESTER_PLAN, date(2025, 9, 1))]
    facts += [fact(RecordKind.SEMESTER_PLAN, date(2026, 2, 25))]
    facts += [fact(RecordKind.MONTHLY_PLAN, date(y, m, 1)) for (y, m) in CALENDAR.months]
    # outside the year and unknown kinds count for nothing; an untyped activity is M2 only
    facts += [
        fact(RecordKind.COUNSELLOR_TALK, date(2026, 9, 10)),
        RecordFact("T1", "coffee", date(2025, 9, 9), None),
        fact(group, date(2026, 4, 1), "茶话会"),  # the spring activity: M2 only, not M4
    ]
    return facts


def test_calendar_counts_its_periods() -> None:
    assert CALENDAR.start == date(2025, 9, 1) and CALENDAR.end == date(2026, 8, 31)
    assert len(CALENDAR.months) == 11
    assert CALENDAR.months[0] == (2025, 9) and CALENDAR.months[-1] == (2026, 7)
    assert [CALENDAR.period_count(p) for p in ("teaching_week", "month", "semester", "year")] == [
        8,
        11,
        2,
        1,
    ]


def test_hand_worked_figures_and_suggestions() -> None:
    figures = evidence_figures(records(), CALENDAR, rubric())["T1"]
    got = {item.item: (item.compliance, item.suggested) for item in figures.items}
    assert got == {
        "B4": (Fraction(2, 3), Decimal("3.5")),  # 5 × 2/3 = 3.33 → 3.5
        "B5": (Fraction(0), Decimal(0)),
        "M1": (Fraction(3, 4), Decimal(6)),  # 8 × 3/4
        "M2": (Fraction(3, 4), Decimal("5.5")),  # 7 × 3/4 = 5.25 → 5.5 (half up)
        "M3": (Fraction(3, 4), Decimal("2.5")),  # 3 × 3/4 = 2.25 → 2.5
        "M4": (Fraction(0), Decimal(0)),
        "M5": (Fraction(1, 2), Decimal(2)),
        "M6": (Fraction(1, 2), Decimal("2.5")),  # 5 × 1/2
        "M7": (Fraction(0), Decimal(0)),
        "M8": (Fraction(0), Decimal(0)),
        "A1": (Fraction(1, 2), Decimal(5)),
        "A3": (Fraction(0), Decimal(0)),
        "E1": (Fraction(0), None),  # bonus evidence: a figure, never a suggested score
        "E2": (Fraction(0), None),
    }
    m1 = figures.item("M1").requirements[0]
    assert (m1.periods, m1.periods_met, m1.records) == (8, 6, 13)
    assert (
        m1.summary
        == "每个教学周与学生交流：8 个教学周中 6 个教学周达到 2 条（共 13 条），完成度 75%"
    )
    m3 = figures.item("M3").requirements
    assert [(r.label, r.periods_met, r.compliance) for r in m3] == [
        ("每学期与辅导员沟通", 1, Fraction(1, 2)),
        ("每学期与学院负责人交流", 2, Fraction(1)),
    ]


def test_mentors_without_records_get_zero_figures_and_several_mentors_are_separate() -> None:
    facts = [fact(RecordKind.PUBLICITY, date(2025, 9, 2), mentor="T2")] * 30
    result = evidence_figures(facts, CALENDAR, rubric(), mentors=["T1", "T2"])
    assert set(result) == {"T1", "T2"}
    assert all(item.suggested in (0, None) for item in result["T1"].items)
    assert all(item.compliance == 0 for item in result["T1"].items)
    m6 = result["T2"].item("M6")
    assert m6.compliance == Fraction(1, 2)  # September of the two counted months
    assert m6.requirements[0].records == 30


def test_one_pass_over_a_single_use_stream() -> None:
    consumed = 0

    def stream() -> Iterator[RecordFact]:
        nonlocal consumed
        for record in records():
            consumed += 1
            yield record

    once = evidence_figures(stream(), CALENDAR, rubric())
    assert consumed == len(records())
    assert once == evidence_figures(records(), CALENDAR, rubric())


def test_encoded_rows_give_the_same_figures_decoding_each_distinct_value_once() -> None:
    """Rows as a database gives them (the day as text, say), with the Encoding that decodes
    them, fold to exactly the RecordFacts' figures; each distinct day is decoded once and the
    rubric asked once per distinct (kind, activity, online)."""
    decoded_days: list[str] = []
    asked: list[tuple[str, str | None, bool | None]] = []

    def day(text: str) -> date | None:
        decoded_days.append(text)
        return None if text == "never" else date.fromisoformat(text)

    class CountingRubric:
        def __init__(self, rubric: Rubric) -> None:
            self._rubric = rubric

        def __getattr__(self, name: str) -> object:
            return getattr(self._rubric, name)

        def items_for(
            self, kind: str, activity: str | None = None, online: bool | None = None
        ) -> tuple[str, ...]:
            asked.append((kind, activity, online))
            return self._rubric.items_for(kind, activity, online)

    facts = records()
    rows = [(m, k, d.isoformat(), a, o) for m, k, d, a, o in facts]
    rows.append(("T1", RecordKind.CONTACT, "never", None, None))  # a day no calendar knows
    encoding = Encoding(day=day)
    counting: Any = CountingRubric(rubric())

    assert evidence_figures(rows, CALENDAR, counting, encoding=encoding) == evidence_figures(
        facts, CALENDAR, rubric()
    )
    assert sorted(decoded_days) == sorted({row[2] for row in rows})
    assert sorted(asked, key=repr) == sorted({(r[1], r[3], r[4]) for r in facts}, key=repr)


def test_the_rubric_says_what_a_record_counts_for_when_it_is_read() -> None:
    """The same records, read with a rubric whose [records] table differs, count for what
    that rubric says: nothing about the items is stored in a record."""
    data = rubric_data()
    data["records"]["activities"]["读书沙龙"] = ["M4"]
    moved = rubric_from_dict(data)
    salon = [fact(RecordKind.GROUP_ACTIVITY, date(2025, 9, 20), "读书沙龙")]
    before = evidence_figures(salon, CALENDAR, rubric())["T1"]
    after = evidence_figures(salon, CALENDAR, moved)["T1"]
    assert (
        before.item("M5").requirements[0].records,
        before.item("M4").requirements[0].records,
    ) == (1, 0)
    assert (after.item("M5").requirements[0].records, after.item("M4").requirements[0].records) == (
        0,
        1,
    )


def test_a_calendar_without_teaching_weeks_gives_no_m1_suggestion() -> None:
    calendar = Calendar.for_year(2025, [Semester("秋", date(2025, 9, 1), date(2026, 1, 16), ())])
    m1 = evidence_figures(records(), calendar, rubric())["T1"].item("M1")
    assert m1.compliance is None and m1.suggested is None
    assert "没有" in m1.requirements[0].summary


def test_suggest_caps_compliance_and_rounds_half_up_to_half_points() -> None:
    assert suggest(Decimal(8), Fraction(3, 2)) == 8
    assert suggest(Decimal(5), Fraction(1, 20)) == Decimal("0.5")  # 0.25 → 0.5
    assert suggest(Decimal(5), Fraction(1, 21)) == 0  # 0.238 → 0
    assert suggest(Decimal(7), Fraction(1)) == 7


def test_calendar_refuses_inconsistent_dates() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Calendar.for_year(
            2025,
            [
                Semester("a", date(2025, 9, 1), date(2026, 1, 16), ()),
                Semester("b", date(2026, 1, 10), date(2026, 6, 1), ()),
            ],
        )
    with pytest.raises(ValueError, match="outside"):
        Semester("a", date(2025, 9, 1), date(2025, 12, 1), (week(date(2025, 12, 1)),))
    with pytest.raises(ValueError):
        DateRange(date(2025, 9, 2), date(2025, 9, 1))


def test_record_kinds_match_the_bot() -> None:
    assert {k.value for k in RecordKind} >= {
        "contact",
        "group_activity",
        "counsellor_talk",
        "leader_talk",
        "semester_plan",
        "monthly_plan",
        "monthly_summary",
        "publicity",
        "care",
        "academy_booking",
        "external_resource",
    }
