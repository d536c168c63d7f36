"""Chinese dates and times as mentors type them, read in the installation's time zone.

``parse_when`` understands 今天, 昨天, 前天, 明天, 后天, 周三 / 星期三 / 礼拜三 (the most recent
one, today included), 上周三, 下周三, 11月20日, 11月20号, 11月20日19:00, 2025-11-20, 2025/11/20 and
2025年11月20日, each optionally followed by a time (19:00, 19点, 19点30, 晚上7点). A day in the
future is read as one (the caller refuses it, saying why), never as some other word. A time that
cannot exist (25:00, 19:75) raises DateError. Nothing here reads a clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.echo import echo

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
# days back from today; a negative number is a day to come
RELATIVE_DAYS = {
    "大后天": -3,
    "今天": 0,
    "今日": 0,
    "昨天": 1,
    "昨日": 1,
    "前天": 2,
    "明天": -1,
    "明日": -1,
    "后天": -2,
}
TIME_FORM = "时间请写成 19:00、19点、晚上7点（小时 0–23，分钟 0–59）"

_WEEKDAY = re.compile(r"(上|下)?(?:周|星期|礼拜)([一二三四五六日天七])")
_MONTH_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})")
_TIME = re.compile(
    r"(上午|早上|中午|下午|晚上|傍晚)?(\d{1,2})(?::|：|点|时)(?:(\d{1,2})分?|半)?",
)
_PM_WORDS = {"下午", "晚上", "傍晚"}
# a part of a day, alone or leading a time (今晚, 明早8点): a time, though not one we read
_PART_OF_DAY = re.compile(r"(?:今|昨|明)(?:晚|早|夜)|(?:上午|早上|中午|下午|晚上|傍晚)$")


class DateError(ValueError):
    """A date the mentor typed that cannot be used; the message is for the mentor."""


@dataclass(frozen=True)
class When:
    """A day, and a time of day when one was given."""

    day: date
    at: time | None = None

    def moment(self, zone: ZoneInfo, now: datetime) -> datetime:
        """The aware datetime: the time given; now for today without one; else noon."""
        if self.at is not None:
            return datetime.combine(self.day, self.at, tzinfo=zone)
        local_now = now.astimezone(zone)
        if self.day == local_now.date():
            return local_now.replace(second=0, microsecond=0)
        return datetime.combine(self.day, time(12, 0), tzinfo=zone)


def looks_like_time(text: str) -> bool:
    """True for a word written as a time of day, possible or not (``19:00``, ``25:00``,
    ``今晚``)."""
    text = text.strip()
    return _TIME.fullmatch(text) is not None or _PART_OF_DAY.match(text) is not None


def check_time(text: str) -> None:
    """Raise DateError, saying why, for a word written as a time that cannot exist."""
    if _TIME.fullmatch(text.strip()) and parse_time(text) is None:
        raise DateError(f"时间“{echo(text)}”不存在。{TIME_FORM}")


def parse_time(text: str) -> time | None:
    """``19:00``, ``19点``, ``7点半``, ``晚上7点`` → a time of day; None if it is not one."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        return None
    period, hour_text, minute_text = match.groups()
    hour = int(hour_text)
    minute = 30 if text.strip().endswith("半") else int(minute_text or 0)
    if period in _PM_WORDS and hour < 12:
        hour += 12
    if period == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_when(text: str, today: date, year_start: date, year_end: date) -> When | None:
    """The date (and time) in ``text``, or None when ``text`` is not a date at all.

    A month and day without a year is the one inside the academic year
    ``year_start``..``year_end``. Raises DateError for a date that cannot exist.
    """
    text = text.strip()
    day, rest = _parse_day(text, today, year_start, year_end)
    if day is None:
        return None
    if not rest:
        return When(day)
    check_time(rest)
    at = parse_time(rest)
    if at is None:
        return None
    return When(day, at)


def _parse_day(text: str, today: date, year_start: date, year_end: date) -> tuple[date | None, str]:
    for word, back in RELATIVE_DAYS.items():
        if text.startswith(word):
            return today - timedelta(days=back), text[len(word) :]
    match = _WEEKDAY.match(text)
    if match:
        which, name = match.groups()
        back = (today.weekday() - WEEKDAYS[name]) % 7
        if which == "上":
            back = today.weekday() + 7 - WEEKDAYS[name]
        elif which == "下":
            back = today.weekday() - 7 - WEEKDAYS[name]
        return today - timedelta(days=back), text[match.end() :]
    match = _ISO.match(text)
    if match:
        return _date(*(int(part) for part in match.groups())), text[match.end() :]
    match = _MONTH_DAY.match(text)
    if match:
        year_text, month, day = match.groups()
        year = int(year_text) if year_text else None
        return _in_year(year, int(month), int(day), year_start, year_end), text[match.end() :]
    match = _SLASH.fullmatch(text)
    if match:
        month, day = (int(part) for part in match.groups())
        return _in_year(None, month, day, year_start, year_end), ""
    return None, text


def _in_year(year: int | None, month: int, day: int, year_start: date, year_end: date) -> date:
    if year is not None:
        return _date(year, month, day)
    for candidate_year in range(year_start.year, year_end.year + 1):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if year_start <= candidate <= year_end:
            return candidate
    return _date(year_start.year, month, day)


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError(f"日期 {year}年{month}月{day}日 不存在，请检查后重新输入") from None


def check_moment(moment: datetime, now: datetime, year_start: date, year_end: date) -> None:
    """Refuse a moment in the future or outside the academic year, saying why."""
    zone = moment.tzinfo
    local_now = now.astimezone(zone)
    if moment > local_now + timedelta(minutes=5):
        # a later day is refused whatever its hour (which may be a default nobody typed)
        when = (
            f"日期 {moment.month}月{moment.day}日"
            if moment.date() > local_now.date()
            else f"时间 {format_moment(moment)}"
        )
        raise DateError(
            f"{when} 还没有到，只能记录已经发生的事（现在是{format_moment(local_now)}）"
        )
    if not (year_start <= moment.date() <= year_end):
        raise DateError(
            f"日期 {moment:%Y-%m-%d} 不在本学年（{year_start:%Y-%m-%d} 至 {year_end:%Y-%m-%d}）内，"
            "只能记录本学年的工作"
        )


def format_moment(moment: datetime) -> str:
    """``11月20日 19:00``."""
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def format_day(moment: datetime) -> str:
    """``11月20日``: the day of a record whose time of day is never asked (a plan, publicity)."""
    return f"{moment.month}月{moment.day}日"
