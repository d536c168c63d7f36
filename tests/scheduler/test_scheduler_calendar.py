"""The calendar decisions are pure: working days, quiet hours, reminder days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.calendar import (
    Rules,
    avoid_round_times,
    first_working_day_of_last_week,
    first_working_day_of_month,
    in_quiet_hours,
    in_semester,
    is_working_day,
    next_allowed_moment,
    reminder_days,
)
from tests.scheduler.conftest import SHANGHAI


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def test_working_days_follow_holidays_and_make_up_days():
    assert not is_working_day(date(2025, 10, 1))  # National Day
    assert not is_working_day(date(2025, 10, 8))
    assert is_working_day(date(2025, 9, 28))  # a Sunday worked (调休)
    assert is_working_day(date(2025, 10, 11))  # a Saturday worked
    assert not is_working_day(date(2025, 10, 12))  # an ordinary Sunday
    assert is_working_day(date(2025, 10, 13))
    assert is_working_day(date(2040, 3, 5)) and not is_working_day(date(2040, 3, 4))  # fallback


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [(time(21, 59), False), (time(22, 0), True), (time(3, 0), True), (time(8, 0), False)],
)
def test_quiet_hours_run_over_midnight(clock, quiet):
    assert in_quiet_hours(clock) is quiet
    assert in_quiet_hours(clock, time(1, 0), time(6, 0)) is (time(1, 0) <= clock < time(6, 0))


@pytest.mark.parametrize(
    ("now", "expected_day", "earliest"),
    [
        (at(2025, 11, 20, 15, 7), date(2025, 11, 20), time(15, 7)),  # allowed: unchanged
        (at(2025, 11, 20, 23, 30), date(2025, 11, 21), time(8, 3)),  # night → morning
        (at(2025, 11, 21, 3, 0), date(2025, 11, 21), time(8, 3)),
        (at(2025, 11, 21, 22, 15), date(2025, 11, 24), time(8, 3)),  # Friday night → Monday
        (at(2025, 9, 30, 22, 40), date(2025, 10, 9), time(8, 3)),  # holiday → after it
        (at(2025, 10, 10, 23, 0), date(2025, 10, 11), time(8, 3)),  # make-up Saturday
        (at(2025, 11, 20, 16, 0), date(2025, 11, 20), time(16, 3)),  # off the full hour
        (at(2025, 11, 20, 16, 29), date(2025, 11, 20), time(16, 33)),  # off the half hour
    ],
)
def test_next_allowed_moment(now, expected_day, earliest):
    moment = next_allowed_moment(now, Rules(), salt="campaign")
    assert moment >= now
    assert moment.date() == expected_day
    assert earliest <= moment.time() <= time(earliest.hour, earliest.minute + 5)
    assert not in_quiet_hours(moment.time()) and is_working_day(moment.date())
    assert next_allowed_moment(moment, Rules(), salt="campaign") == moment  # a fixed point


def test_next_allowed_moment_needs_an_aware_time_and_answers_in_the_zone():
    with pytest.raises(ValueError):
        next_allowed_moment(datetime(2025, 11, 20, 12, 0))
    moment = next_allowed_moment(datetime(2025, 11, 20, 15, 0, tzinfo=UTC))  # 23:00 local
    assert moment.utcoffset().total_seconds() == 8 * 3600 and moment.hour == 8


def test_round_times_move_a_few_minutes_deterministically():
    moments = {avoid_round_times(at(2025, 11, 20, 9, 0), salt=str(n)).minute for n in range(40)}
    assert moments <= set(range(3, 9)) and len(moments) > 1
    assert avoid_round_times(at(2025, 11, 20, 9, 17)) == at(2025, 11, 20, 9, 17)
    assert avoid_round_times(at(2025, 11, 20, 9, 59), "x").hour == 10


def test_month_days():
    assert first_working_day_of_month(2025, 10) == date(2025, 10, 9)
    assert first_working_day_of_month(2026, 1) == date(2026, 1, 4)  # a make-up Sunday
    assert first_working_day_of_month(2025, 12) == date(2025, 12, 1)
    assert first_working_day_of_last_week(2025, 11) == date(2025, 11, 24)
    assert first_working_day_of_last_week(2025, 10) == date(2025, 10, 27)


def test_reminder_days_move_before_days_off_and_never_collide():
    # deadline Friday 4 Sep 2026: 3 days before is Tuesday, 1 day before Thursday
    assert reminder_days(date(2026, 9, 4), [3, 1]) == {3: date(2026, 9, 1), 1: date(2026, 9, 3)}
    # deadline Wednesday 9 Sep 2026: 3 days before is a Sunday → Friday
    assert reminder_days(date(2026, 9, 9), [3, 1]) == {3: date(2026, 9, 4), 1: date(2026, 9, 8)}
    # deadline Monday 7 Sep 2026: 1 day before (Sunday) → Friday, 3 days before → Friday too
    assert reminder_days(date(2026, 9, 7), [3, 1]) == {1: date(2026, 9, 4)}


def test_in_semester():
    terms = [(date(2025, 9, 8), date(2026, 1, 16))]
    assert in_semester(date(2025, 9, 8), terms) and in_semester(date(2026, 1, 16), terms)
    assert not in_semester(date(2026, 1, 17), terms) and not in_semester(date(2025, 9, 7), [])
