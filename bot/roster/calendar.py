"""Academic years, semesters and teaching weeks (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

YEAR_PATTERN = re.compile(r"(\d{4})-(\d{4})")


@dataclass(frozen=True)
class Week:
    number: int
    starts_on: date
    ends_on: date


def parse_year_code(code: str) -> tuple[date, date] | None:
    """``2025-2026`` → (2025-09-01, 2026-08-31); None if the code is malformed."""
    match = YEAR_PATTERN.fullmatch(code.strip())
    if not match:
        return None
    first, second = int(match.group(1)), int(match.group(2))
    if second != first + 1 or not 1900 < first < 2200:
        return None
    return date(first, 9, 1), date(second, 8, 31)


def year_code_for(day: date) -> str:
    """The academic year containing ``day``."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def week_count(starts_on: date, ends_on: date) -> int:
    """How many Monday-based weeks touch the semester."""
    first_monday = starts_on - timedelta(days=starts_on.weekday())
    return (ends_on - first_monday).days // 7 + 1


def teaching_weeks(
    starts_on: date, ends_on: date, holidays: set[int] | frozenset[int]
) -> list[Week]:
    """The Monday-based weeks from ``starts_on`` to ``ends_on`` minus the ``holidays`` (week
    numbers); each week keeps its calendar number and is clipped to the semester."""
    first_monday = starts_on - timedelta(days=starts_on.weekday())
    weeks = []
    for number in range(1, week_count(starts_on, ends_on) + 1):
        if number in holidays:
            continue
        monday = first_monday + timedelta(weeks=number - 1)
        weeks.append(Week(number, max(monday, starts_on), min(monday + timedelta(days=6), ends_on)))
    return weeks


@dataclass(frozen=True)
class SemesterPlan:
    number: int
    starts_on: date
    ends_on: date
    holidays: tuple[int, ...]


def standard_calendar(year_code: str) -> list[SemesterPlan]:
    """A plausible calendar for any year: semester 1 from the second Monday of September for
    19 weeks (the National Day week off), semester 2 from 24 weeks later for 19 weeks.
    For 2025-2026: 2025-09-08..2026-01-16 (week 4 off) and 2026-02-23..2026-07-03."""
    bounds = parse_year_code(year_code)
    if bounds is None:
        raise ValueError(f"学年“{year_code}”格式不正确（应为 2025-2026）")
    september = bounds[0]
    first_monday = september + timedelta(days=(7 - september.weekday()) % 7)
    start1 = first_monday + timedelta(weeks=1)
    end1 = start1 + timedelta(weeks=18, days=4)
    national_day = date(september.year, 10, 1)
    if national_day.weekday() >= 5:  # a weekend: the holiday runs into the next week
        national_day += timedelta(days=7 - national_day.weekday())
    holiday = (national_day - start1).days // 7 + 1
    start2 = start1 + timedelta(weeks=24)
    end2 = start2 + timedelta(weeks=18, days=4)
    return [SemesterPlan(1, start1, end1, (holiday,)), SemesterPlan(2, start2, end2, ())]
