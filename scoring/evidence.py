"""Evidence from the year's records: per mentor and item, how far the records meet the
rubric's targets (``[[evidence.ITEM]]``), and a suggested score beside the scorer's.

Pure: the bot streams plain :class:`RecordFact` values (one per non-deleted record of the
year) and a :class:`Calendar`; :func:`evidence_figures` folds them in one pass into counts
per (mentor, requirement, period), then works out the figures. A suggestion never replaces
a scorer's score.
"""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from scoring.numbers import fmt, round_to, round_to_step

if TYPE_CHECKING:
    from scoring.rubric import Requirement, Rubric

MentorKey = Hashable
SUGGESTION_STEP = Fraction(1, 2)


class RecordKind(enum.StrEnum):
    """The kinds of record the bot keeps: what happened. Which assessment items each kind
    evidences is the rubric's ``[records]`` table, not code."""

    CONTACT = "contact"  # 个别交流
    GROUP_ACTIVITY = "group_activity"  # 集体活动 (with the activity type its title names)
    COUNSELLOR_TALK = "counsellor_talk"  # 与辅导员沟通
    LEADER_TALK = "leader_talk"  # 与学院负责人交流
    SEMESTER_PLAN = "semester_plan"  # 学期计划
    MONTHLY_PLAN = "monthly_plan"  # 月度计划
    MONTHLY_SUMMARY = "monthly_summary"  # 月度总结
    PUBLICITY = "publicity"  # 宣传素材
    CARE = "care"  # 关爱记录
    ACADEMY_BOOKING = "academy_booking"  # 书院空间预约、社区活动
    EXTERNAL_RESOURCE = "external_resource"  # 校外资源
    MONTHLY_GUIDANCE = "monthly_guidance"  # 当月个别指导（供学生月度评价）


class Per(enum.StrEnum):
    TEACHING_WEEK = "teaching_week"
    MONTH = "month"
    SEMESTER = "semester"
    YEAR = "year"


PER_NAMES = {
    Per.TEACHING_WEEK: "个教学周",
    Per.MONTH: "个月",
    Per.SEMESTER: "个学期",
    Per.YEAR: "学年",
}


class RecordFact(NamedTuple):
    """One record of a mentor's daily log, as the scoring needs it: what happened, not what
    it counts for (immutable; a named tuple rather than a dataclass because millions of them
    are made in one pass).

    ``activity``: the type the record's text names (a group activity's type 读书沙龙…, a
    contact's topic 考研…), else None; ``online``: marked 线上. A record counts for an item's
    requirement when its kind is one of the requirement's kinds and the rubric's
    ``[records]`` tables say the (kind, activity, online) evidences the item.
    """

    mentor_id: MentorKey
    kind: str
    occurred_on: date
    activity: str | None
    online: bool | None = None


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Encoding:
    """How a stream of records spells the day, when not as :class:`RecordFact` does: e.g. a
    database row's UTC hour as text. The fold calls ``day`` once per distinct value, never per
    record; it may answer None for a value no calendar has (such records count for nothing)."""

    day: Callable[[Any], date | None] = _as_is


AS_RECORD_FACTS = Encoding()


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive range of dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"date range ends before it starts: {self.start}..{self.end}")

    def days(self) -> Iterable[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class Semester:
    name: str
    start: date
    end: date
    teaching_weeks: tuple[DateRange, ...]

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"semester {self.name} ends before it starts")
        for week in self.teaching_weeks:
            if week.start < self.start or week.end > self.end:
                raise ValueError(f"teaching week {week.start}..{week.end} outside {self.name}")


def weekdays(day: date) -> bool:
    """Monday to Friday: the working days when no official calendar is given."""
    return day.weekday() < 5


@dataclass(frozen=True)
class Calendar:
    """The academic year: its dates, semesters (with teaching weeks) and counted months.
    ``workday``: whether a day is a working day (the bot passes China's official calendar:
    public holidays off, make-up days on); a teaching day is a working day in a teaching week.
    """

    start: date
    end: date
    semesters: tuple[Semester, ...]
    months: tuple[tuple[int, int], ...]  # (year, month) pairs in which monthly targets apply
    workday: Callable[[date], bool] = field(default=weekdays, compare=False, repr=False)
    as_of: date | None = None  # a year not over: only periods ended before this day count
    pending: frozenset[str] = frozenset()  # semesters not over by ``as_of``: not counted yet

    def __post_init__(self) -> None:
        ordered = sorted(self.semesters, key=lambda s: s.start)
        for first, second in itertools.pairwise(ordered):
            if second.start <= first.end:
                raise ValueError(f"semesters {first.name} and {second.name} overlap")
        for semester in self.semesters:
            if semester.start < self.start or semester.end > self.end:
                raise ValueError(f"semester {semester.name} outside the academic year")

    @classmethod
    def for_year(
        cls,
        first_year: int,
        semesters: Iterable[Semester],
        workday: Callable[[date], bool] = weekdays,
    ) -> Calendar:
        """Academic year ``first_year``-09-01..next year's 08-31; the counted months are
        those that overlap a semester."""
        semesters = tuple(semesters)
        months: list[tuple[int, int]] = []
        for semester in sorted(semesters, key=lambda s: s.start):
            year, month = semester.start.year, semester.start.month
            while (year, month) <= (semester.end.year, semester.end.month):
                if (year, month) not in months:
                    months.append((year, month))
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return cls(
            start=date(first_year, 9, 1),
            end=date(first_year + 1, 8, 31),
            semesters=semesters,
            months=tuple(months),
            workday=workday,
        )

    def period_count(self, per: str) -> int:
        if per == Per.TEACHING_WEEK:
            return sum(len(s.teaching_weeks) for s in self.semesters)
        if per == Per.SEMESTER:
            return sum(1 for s in self.semesters if s.name not in self.pending)
        if per == Per.MONTH:
            return len(self.months)
        return 1

    def day_periods(self) -> dict[date, tuple[int | None, int | None, int | None, int]]:
        """For every day of the year: (teaching week, semester, month, year) indexes."""
        weeks: dict[date, int] = {}
        semesters: dict[date, int] = {}
        week_index = 0
        for semester_index, semester in enumerate(self.semesters):
            if semester.name not in self.pending:
                for day in DateRange(semester.start, semester.end).days():
                    semesters[day] = semester_index
            for week in semester.teaching_weeks:
                for day in week.days():
                    weeks[day] = week_index
                week_index += 1
        months = {month: index for index, month in enumerate(self.months)}
        return {
            day: (weeks.get(day), semesters.get(day), months.get((day.year, day.month)), 0)
            for day in DateRange(self.start, self.end).days()
        }

    def teaching_days(self) -> set[date]:
        """Working days inside the teaching weeks."""
        return {
            day
            for semester in self.semesters
            for week in semester.teaching_weeks
            for day in week.days()
            if self.workday(day)
        }

    def counted(
        self, week_days: int = 1, month_days: int = 1, as_of: date | None = None
    ) -> Calendar:
        """The calendar of the periods that count toward targets: teaching weeks with at least
        ``week_days`` teaching days, months with at least ``month_days``, and, for a year not
        over (``as_of`` before its end), only the periods that ended before ``as_of``."""
        teaching = self.teaching_days()
        done = (lambda end: end < as_of) if as_of is not None else (lambda _end: True)
        semesters = []
        for semester in self.semesters:
            weeks = tuple(
                week
                for week in semester.teaching_weeks
                if sum(1 for day in week.days() if day in teaching) >= week_days and done(week.end)
            )
            semesters.append(replace(semester, teaching_weeks=weeks))
        per_month: dict[tuple[int, int], int] = {}
        for day in teaching:
            per_month[(day.year, day.month)] = per_month.get((day.year, day.month), 0) + 1
        months = tuple(
            month
            for month in self.months
            if per_month.get(month, 0) >= month_days and done(_month_end(*month))
        )
        pending = frozenset(s.name for s in self.semesters if not done(s.end))
        return replace(
            self, semesters=tuple(semesters), months=months, as_of=as_of, pending=pending
        )


def _month_end(year: int, month: int) -> date:
    return (date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


_SLOT = {Per.TEACHING_WEEK: 0, Per.SEMESTER: 1, Per.MONTH: 2, Per.YEAR: 3}


@dataclass(frozen=True)
class RequirementFigure:
    """How far one requirement is met: e.g. 14 of 16 teaching weeks reached 2 contacts."""

    label: str
    per: str
    target: int
    credit: str
    periods: int  # periods in the year (teaching weeks, months, semesters, 1)
    periods_met: int  # periods that reached the target
    records: int  # records counted inside those periods
    compliance: Fraction | None  # None when the calendar has no such period
    as_of: date | None = None  # the year is not over: periods ended before this day only

    @property
    def summary(self) -> str:
        """The figure for scorers, in Chinese."""
        unit = PER_NAMES[Per(self.per)]
        so_far = (
            "" if self.as_of is None else f"（学年未结束，只计 {_day(self.as_of)}前已结束的周期）"
        )
        if self.compliance is None:
            if self.as_of is not None:
                return f"{self.label}：{_day(self.as_of)}前尚无已结束的{unit.lstrip('个')}"
            return f"{self.label}：日历中没有{unit.lstrip('个')}"
        percent = fmt(round_to(self.compliance * 100, 1))
        if self.per == Per.YEAR:
            head = f"{self.label}：全年 {self.records} 条，目标 {self.target} 条"
        else:
            head = (
                f"{self.label}：{self.periods} {unit}中 {self.periods_met} {unit}"
                f"达到 {self.target} 条（共 {self.records} 条）"
            )
        return f"{head}，完成度 {percent}%{so_far}"


def _day(day: date) -> str:
    return f"{day.month}月{day.day}日"


@dataclass(frozen=True)
class ItemEvidence:
    item: str
    maximum: Decimal
    requirements: tuple[RequirementFigure, ...]
    compliance: Fraction | None  # mean of the requirements' compliance, 0..1
    suggested: Decimal | None  # maximum × compliance, rounded half up to 0.5


@dataclass(frozen=True)
class MentorEvidence:
    mentor_id: MentorKey
    items: tuple[ItemEvidence, ...]

    def item(self, item_id: str) -> ItemEvidence:
        return next(i for i in self.items if i.item == item_id)


def evidence_figures(
    records: Iterable[RecordFact] | Iterable[tuple[MentorKey, str, Any, Any, Any]],
    calendar: Calendar,
    rubric: Rubric,
    mentors: Iterable[MentorKey] = (),
    encoding: Encoding = AS_RECORD_FACTS,
    as_of: date | None = None,
) -> dict[MentorKey, MentorEvidence]:
    """Figures and suggested scores for every mentor in ``mentors`` or in ``records``.

    One pass over ``records`` (RecordFacts, or tuples in their field order whose day
    ``encoding`` decodes); the rubric says which items each (kind, activity, online)
    evidences. Records outside the academic year or outside every counted period of a
    requirement (a contact in a vacation week or a week of public holidays) do not count
    toward it; the rubric's ``[periods]`` say which weeks and months count. ``as_of``: for a
    year not over yet, only the periods that ended before that day count (and the figures
    say so).
    """
    if as_of is not None and as_of > calendar.end:
        as_of = None
    periods = rubric.periods
    calendar = calendar.counted(periods.week_teaching_days, periods.month_teaching_days, as_of)
    requirements = [
        (item_id, requirement)
        for item_id in _rubric_order(rubric)
        for requirement in rubric.evidence[item_id]
    ]
    routes: dict[str, list[tuple[int, str, int]]] = {}
    for key, (item_id, requirement) in enumerate(requirements):
        for kind in dict.fromkeys(requirement.kinds):
            routes.setdefault(str(kind), []).append((key, item_id, _SLOT[Per(requirement.per)]))
    counts = _fold(records, calendar.day_periods(), routes, rubric, encoding)

    per_mentor: dict[MentorKey, dict[int, list[int]]] = {mentor: {} for mentor in mentors}
    for (mentor, key, _period), count in counts.items():
        per_mentor.setdefault(mentor, {}).setdefault(key, []).append(count)
    return {
        mentor: _mentor_evidence(mentor, by_key, requirements, calendar, rubric)
        for mentor, by_key in per_mentor.items()
    }


def _fold(
    records: Iterable[tuple[MentorKey, str, Any, Any, Any]],
    days: dict[date, tuple[int | None, int | None, int | None, int]],
    routes: dict[str, list[tuple[int, str, int]]],
    rubric: Rubric,
    encoding: Encoding,
) -> dict[tuple[MentorKey, int, int], int]:
    """Counts of matching records per (mentor, requirement, period): the one pass. The
    periods of a day and the requirements a record counts for are worked out once per
    distinct (encoded) day and per distinct (kind, activity)."""
    counts: dict[tuple[MentorKey, int, int], int] = {}
    get_count = counts.get
    periods_of: dict[Any, tuple[int | None, int | None, int | None, int] | None] = {}
    get_periods = periods_of.get
    matching: dict[tuple[str, Any, Any], list[tuple[int, int]]] = {}
    unseen = _UNSEEN
    for mentor_id, kind, day, activity, online in records:  # RecordFact's fields, in order
        periods = get_periods(day, unseen)
        if periods is unseen:
            periods = periods_of[day] = days.get(encoding.day(day))  # type: ignore[arg-type]
        if periods is None:
            continue
        found = matching.get((kind, activity, online))
        if found is None:
            names = rubric.items_for(kind, activity, online)
            found = matching[(kind, activity, online)] = [
                (key, slot) for key, item_id, slot in routes.get(kind, ()) if item_id in names
            ]
        for key, slot in found:
            period = periods[slot]  # type: ignore[index]
            if period is not None:
                count_key = (mentor_id, key, period)
                counts[count_key] = get_count(count_key, 0) + 1
    return counts


_UNSEEN: Any = object()


def _rubric_order(rubric: Rubric) -> list[str]:
    return [item.id for item in rubric.items if item.id in rubric.evidence]


def _mentor_evidence(
    mentor: MentorKey,
    by_key: dict[int, list[int]],
    requirements: list[tuple[str, Requirement]],
    calendar: Calendar,
    rubric: Rubric,
) -> MentorEvidence:
    figures: dict[str, list[RequirementFigure]] = {}
    for key, (item_id, requirement) in enumerate(requirements):
        figure = _figure(requirement, by_key.get(key, []), calendar.period_count(requirement.per))
        if calendar.as_of is not None:
            figure = replace(figure, as_of=calendar.as_of)
        figures.setdefault(item_id, []).append(figure)
    items = []
    for item_id, item_figures in figures.items():
        known = [f.compliance for f in item_figures if f.compliance is not None]
        maximum = rubric.item_by_id[item_id].max
        compliance = sum(known, Fraction(0)) / len(known) if known else None
        shown_only = rubric.role_of(item_id) == "bonus"  # achieved or not: the college says
        suggested = None if compliance is None or shown_only else suggest(maximum, compliance)
        items.append(ItemEvidence(item_id, maximum, tuple(item_figures), compliance, suggested))
    return MentorEvidence(mentor, tuple(items))


def _figure(requirement: Requirement, counts: list[int], periods: int) -> RequirementFigure:
    target = requirement.target
    met = sum(1 for count in counts if count >= target)
    if periods == 0:
        compliance = None
    elif requirement.credit == "met":
        compliance = Fraction(met, periods)
    else:
        compliance = Fraction(sum(min(count, target) for count in counts), target * periods)
    return RequirementFigure(
        label=requirement.label,
        per=str(requirement.per),
        target=target,
        credit=requirement.credit,
        periods=periods,
        periods_met=met,
        records=sum(counts),
        compliance=compliance,
    )


@functools.lru_cache(maxsize=4096)
def suggest(maximum: Decimal, compliance: Fraction) -> Decimal:
    """maximum × compliance (capped at 1), rounded half up to a multiple of 0.5. Cached: two
    thousand mentors share a few hundred (maximum, compliance) pairs."""
    compliance = min(max(compliance, Fraction(0)), Fraction(1))
    return round_to_step(Fraction(maximum) * compliance, SUGGESTION_STEP)
