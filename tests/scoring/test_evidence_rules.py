"""The decisions of 2026-12 on what evidence counts (../shared/spec/assessment-rules.md),
each worked by hand against the 2021 rubric: 线上 activities, career-guidance contacts,
competitions and papers, publicity months, holidays and partial periods, a year not over."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import chinese_calendar
import pytest
from scoring_helpers import rubric, rubric_data

from scoring.evidence import Calendar, DateRange, RecordFact, RecordKind, Semester, evidence_figures
from scoring.rubric import rubric_from_dict

CONTACT, GROUP = RecordKind.CONTACT, RecordKind.GROUP_ACTIVITY


def mondays(first: date, count: int) -> tuple[DateRange, ...]:
    """Teaching weeks Monday to Sunday (a make-up Saturday or Sunday is inside its week)."""
    return tuple(
        DateRange(first + timedelta(weeks=n), first + timedelta(weeks=n, days=6))
        for n in range(count)
    )


# Autumn 2025 with China's official calendar: teaching weeks from 1 September to the week of
# 13 October (7 weeks), then none (say, the calendar's practice weeks). National Day: 1–8
# October off, make-up days Sunday 28 September and Saturday 11 October.
AUTUMN = Semester("2025秋", date(2025, 9, 1), date(2026, 1, 16), mondays(date(2025, 9, 1), 7))
SPRING = Semester("2026春", date(2026, 2, 23), date(2026, 7, 3), mondays(date(2026, 2, 23), 2))
OFFICIAL = Calendar.for_year(2025, [AUTUMN, SPRING], workday=chinese_calendar.is_workday)


def fact(kind: str, day: date, activity: str | None = None, online: bool | None = None):
    return RecordFact("T1", kind, day, activity, online)


def figures(facts: list[RecordFact], calendar: Calendar = OFFICIAL, **kwargs: object):
    result = evidence_figures(facts, calendar, rubric(), mentors=["T1"], **kwargs)  # type: ignore[arg-type]
    return result["T1"]


# --- what one record counts for ---------------------------------------------------------

R = rubric()
COUNTS = [
    # (what the mentor recorded, kind, text, online, items)
    ("offline reading salon", GROUP, "读书沙龙", False, ("M2", "M5")),
    ("online reading salon: no M2, still M5", GROUP, "读书沙龙", True, ("M5",)),
    ("online lecture: M4 only", GROUP, "线上学术讲座", True, ("M4",)),
    ("online volunteering: M8 only", GROUP, "志愿服务", True, ("M8",)),
    ("online tea talk: nothing", GROUP, "茶话会", True, ()),
    ("untold place counts as offline", GROUP, "茶话会", None, ("M2",)),
    ("online career talk: M7", GROUP, "生涯规划分享", True, ("M7",)),
    ("ordinary contact: M1 only", CONTACT, "聊选课和作息", None, ("M1",)),
    ("online ordinary contact: M1 (offline-only is M2)", CONTACT, "聊选课", True, ("M1",)),
    ("career contact: M1 and M7", CONTACT, "聊聊考研还是就业", False, ("M1", "M7")),
    ("resume contact", CONTACT, "帮他改简历", True, ("M1", "M7")),
    ("civil-service exam contact", CONTACT, "考公的准备", None, ("M1", "M7")),
    ("subject competition: E1, never M4", GROUP, "学科竞赛辅导", False, ("M2", "E1")),
    ("paper: E2 only, no activity", GROUP, "导师制论文撰写", False, ("E2",)),
    ("experience report: E2 only", GROUP, "经验交流报告发表", None, ("E2",)),
    ("lecture keeps M4", GROUP, "学术讲座", False, ("M2", "M4")),
    ("publicity: M6", RecordKind.PUBLICITY, "", None, ("M6",)),
]


@pytest.mark.parametrize(
    ("kind", "text", "online", "items"), [c[1:] for c in COUNTS], ids=[c[0] for c in COUNTS]
)
def test_what_a_record_counts_for(kind: str, text: str, online: bool | None, items: tuple) -> None:
    assert R.items_for(kind, R.record_type(kind, text), online) == items


def test_the_offline_condition_is_rubric_data() -> None:
    data = rubric_data()
    assert data["records"]["offline_only"] == ["M2"]
    data["records"]["offline_only"] = []
    lenient = rubric_from_dict(data)
    assert lenient.items_for(GROUP, "读书沙龙", True) == ("M2", "M5")


# --- rules 1–4 through the fold --------------------------------------------------------


def test_online_activities_earn_no_m2_but_count_for_their_type() -> None:
    """Autumn: 2 online activities (a reading salon, a lecture) and 1 offline tea talk; M2
    wants 2 offline a semester: 1 of 2 in autumn, 0 in spring → 1/4. The online salon is
    M5's activity (1 of 1 in autumn → 1/2), the online lecture M4's (1/2)."""
    got = figures(
        [
            fact(GROUP, date(2025, 9, 10), "读书沙龙", online=True),
            fact(GROUP, date(2025, 9, 17), "学术讲座", online=True),
            fact(GROUP, date(2025, 9, 24), "茶话会", online=False),
        ]
    )
    m2 = got.item("M2").requirements[0]
    assert (m2.records, m2.compliance) == (1, Fraction(1, 4))
    assert got.item("M5").compliance == Fraction(1, 2)
    assert got.item("M4").compliance == Fraction(1, 2)


def test_m7_counts_career_contacts_and_career_activities_not_ordinary_contacts() -> None:
    """M7: 1 a semester. Autumn: one ordinary contact (M1 only) and one about 考研; spring:
    a 简历 activity → 2 of 2 semesters. Without the career contact autumn is missed."""
    career = fact(CONTACT, date(2025, 9, 9), R.record_type(CONTACT, "聊考研"))
    ordinary = fact(CONTACT, date(2025, 9, 10), R.record_type(CONTACT, "聊选课"))
    resume = fact(GROUP, date(2026, 3, 3), R.activity_type("简历工作坊"))
    assert figures([ordinary, career, resume]).item("M7").compliance == 1
    without = figures([ordinary, resume]).item("M7").requirements[0]
    assert (without.records, without.compliance) == (1, Fraction(1, 2))
    m1 = figures([ordinary, career, resume]).item("M1").requirements[0]
    assert m1.records == 2  # both contacts are individual guidance


def test_competitions_and_papers_are_bonus_evidence_not_m4() -> None:
    got = figures(
        [
            fact(GROUP, date(2025, 10, 20), R.activity_type("指导学生参加学科竞赛")),
            fact(GROUP, date(2026, 3, 4), R.activity_type("经验交流报告发表")),
        ]
    )
    assert got.item("M4").requirements[0].records == 0
    e1, e2 = got.item("E1"), got.item("E2")
    assert (e1.compliance, e2.compliance) == (1, 1)
    assert (e1.suggested, e2.suggested) == (None, None)  # 是/否 is the college's call
    assert e1.requirements[0].summary == "学科竞赛记录：全年 1 条，目标 1 条，完成度 100%"


def test_m6_a_month_counts_when_the_mentor_supplied_one_publicity_item() -> None:
    """The only counted month is September (see the month rule below): one item in September
    is the month met, where the college's target of two would have given half."""
    got = figures([fact(RecordKind.PUBLICITY, date(2025, 9, 3))])
    m6 = got.item("M6").requirements[0]
    assert (m6.periods, m6.periods_met, m6.compliance) == (1, 1, 1)


# --- rule 5: holidays, partial months, a year not over --------------------------------


def test_a_week_counts_for_m1_only_with_three_teaching_days_after_public_holidays() -> None:
    """Teaching weeks 1 Sep … 13 Oct (7) and 23 Feb, 2 Mar (2):
    - 29 Sep–5 Oct: 2 working days (1–8 Oct off) → not counted;
    - 6–12 Oct: 9, 10 Oct and the make-up Saturday 11 Oct → 3 → counted;
    - 23 Feb–1 Mar 2026: 23 Feb is still Spring Festival, 24–28 Feb (28th a make-up day) → 5.
    8 counted weeks. Two contacts in each of 1 Sep, 8 Sep, the National Day week (not
    counted) and 6 Oct; one in 13 Oct → 3 of 8 met."""
    contacts = [
        fact(CONTACT, day)
        for monday in (date(2025, 9, 1), date(2025, 9, 8), date(2025, 9, 29), date(2025, 10, 6))
        for day in (monday + timedelta(days=2), monday + timedelta(days=3))
    ]
    contacts.append(fact(CONTACT, date(2025, 10, 13)))
    m1 = figures(contacts).item("M1").requirements[0]
    assert (m1.periods, m1.periods_met, m1.records) == (8, 3, 7)
    assert m1.compliance == Fraction(3, 8)
    # Monday–Friday without the official calendar: the National Day week counts (9 weeks)
    plain = Calendar.for_year(2025, [AUTUMN, SPRING])
    m1_plain = figures(contacts, plain).item("M1").requirements[0]
    assert (m1_plain.periods, m1_plain.periods_met) == (9, 4)


def test_without_the_make_up_day_the_week_after_national_day_would_not_count() -> None:
    def no_make_up(day: date) -> bool:
        return day.weekday() < 5 and chinese_calendar.is_workday(day)

    calendar = Calendar.for_year(2025, [AUTUMN, SPRING], workday=no_make_up)
    m1 = figures([], calendar).item("M1").requirements[0]
    assert m1.periods == 7  # 6–12 Oct has only 2 working days without 11 Oct


def test_a_month_counts_toward_a_monthly_target_only_with_ten_teaching_days() -> None:
    """Teaching days: September 23 (with the make-up Sunday 28th), October 8 (9–11, 13–17),
    February 5 (24–28), March 5 (2–6, the week of 2 March ends on the 8th): only September
    counts. A monthly plan in every month of the semesters → 1 of 1."""
    assert OFFICIAL.counted(3, 10).months == ((2025, 9),)
    plans = [fact(RecordKind.MONTHLY_PLAN, date(y, m, 5)) for (y, m) in OFFICIAL.months]
    b4 = figures(plans).item("B4").requirements[1]
    assert (b4.label, b4.periods, b4.periods_met) == ("每月月度计划", 1, 1)


def test_a_year_opened_early_counts_only_the_periods_so_far_and_says_so() -> None:
    """On 1 October: 4 teaching weeks have ended (1, 8, 15, 22 Sep), September has ended,
    no semester has. Two contacts in each of the 4 weeks → 4 of 4, not 4 of 9."""
    contacts = [
        fact(CONTACT, monday + timedelta(days=d))
        for monday in (date(2025, 9, 1), date(2025, 9, 8), date(2025, 9, 15), date(2025, 9, 22))
        for d in (1, 2)
    ]
    got = figures(contacts, as_of=date(2025, 10, 1))
    m1 = got.item("M1").requirements[0]
    assert (m1.periods, m1.periods_met, m1.compliance) == (4, 4, 1)
    assert m1.summary == (
        "每个教学周与学生交流：4 个教学周中 4 个教学周达到 2 条（共 8 条），完成度 100%"
        "（学年未结束，只计 10月1日前已结束的周期）"
    )
    m2 = got.item("M2")
    assert m2.compliance is None and m2.suggested is None
    assert m2.requirements[0].summary == "每学期线下集体活动：10月1日前尚无已结束的学期"
    # once the year is over (or for a date after it) every period counts, silently
    after = figures(contacts, as_of=date(2026, 9, 1)).item("M1").requirements[0]
    assert after.periods == 8 and "学年未结束" not in after.summary
