"""When a reminder may reach a person: working days, semesters, quiet hours (pure functions).

- Working days follow China's official calendar (``chinese_calendar``): public holidays are
  off, make-up working days (调休, a Saturday or Sunday that is worked) are on. Years the
  package does not know yet fall back to Monday–Friday.
- Vacations are the days outside every semester; jobs that follow the teaching calendar skip
  them (the assessment calendar runs in the summer vacation and does not).
- Quiet hours (22:00–08:00 by default, in the app's time zone): a non-urgent message waits for
  the next allowed moment, which never falls within a few minutes of a full or half hour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROUND_MARGIN = 2  # minutes either side of :00 and :30 that count as "on the hour"


@dataclass(frozen=True)
class Rules:
    """The calendar rules every job applies (from the ``[calendar]`` table of the schedule)."""

    zone: ZoneInfo = SHANGHAI
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def today(self, now: datetime) -> date:
        return self.local(now).date()


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    """A working day in China: holidays off, make-up days on, weekends otherwise off."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package does not cover yet
        return day.weekday() < 5


def in_quiet_hours(clock: time, start: time = time(22, 0), end: time = time(8, 0)) -> bool:
    """True between ``start`` and ``end`` (the range may run over midnight)."""
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def in_semester(day: date, semesters: Iterable[tuple[date, date]]) -> bool:
    """True when ``day`` lies within one of the (start, end) ranges (both inclusive)."""
    return any(start <= day <= end for start, end in semesters)


def avoid_round_times(moment: datetime, salt: str = "") -> datetime:
    """Move a moment that falls within two minutes of :00 or :30 to 3–8 minutes after it
    (deterministically from ``salt``), so reminders never pile up exactly on the hour."""
    minute = moment.minute % 30
    if ROUND_MARGIN < minute < 30 - ROUND_MARGIN:
        return moment
    anchor = moment.replace(second=0, microsecond=0)
    if minute >= 30 - ROUND_MARGIN:
        anchor += timedelta(minutes=30 - minute)
    else:
        anchor -= timedelta(minutes=minute)
    offset = 3 + int(hashlib.sha256(salt.encode()).hexdigest()[:4], 16) % 6
    shifted = anchor + timedelta(minutes=offset)
    return max(shifted, moment)


def next_allowed_moment(now: datetime, rules: Rules | None = None, *, salt: str = "") -> datetime:
    """The earliest moment at or after ``now`` on a working day and outside quiet hours,
    moved off the full and half hour. ``now`` must be aware; the answer is in ``rules.zone``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rules = rules or Rules()
    local = rules.local(now)
    for _ in range(60):  # the longest run of days off in China is well under two weeks
        if is_working_day(local.date()) and not in_quiet_hours(
            local.time(), rules.quiet_start, rules.quiet_end
        ):
            candidate = avoid_round_times(local, salt)
            if not in_quiet_hours(candidate.time(), rules.quiet_start, rules.quiet_end):
                return candidate
        local = _next_opening(local, rules)
    raise RuntimeError("no allowed moment within 60 days")  # pragma: no cover


def _next_opening(local: datetime, rules: Rules) -> datetime:
    """The next quiet-hours end after ``local`` (today's if still ahead, else tomorrow's)."""
    today_end = datetime.combine(local.date(), rules.quiet_end, tzinfo=rules.zone)
    if today_end > local:
        return today_end
    return datetime.combine(local.date() + timedelta(days=1), rules.quiet_end, tzinfo=rules.zone)


def first_working_day_of_month(year: int, month: int) -> date:
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def month_bounds(day: date) -> tuple[date, date]:
    """The first day of ``day``'s month and the first day of the next month."""
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def first_working_day_of_last_week(year: int, month: int) -> date:
    """The first working day among the last seven days of the month ("the last week")."""
    _, next_first = month_bounds(date(year, month, 1))
    day = next_first - timedelta(days=7)
    while not is_working_day(day) and day < next_first - timedelta(days=1):
        day += timedelta(days=1)
    return day


def reminder_days(deadline: date, offsets: Iterable[int]) -> dict[int, date]:
    """For each offset (days before ``deadline``) the day to remind: that day, or the
    working day before it when it is a day off. Offsets landing on the same day keep the
    smaller (the nearer reminder says more); days are never after the deadline."""
    days: dict[int, date] = {}
    for offset in sorted(set(offsets)):
        day = deadline - timedelta(days=offset)
        while not is_working_day(day):
            day -= timedelta(days=1)
        if day not in days.values():
            days[offset] = day
    return days
