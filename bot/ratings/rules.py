"""The rating rules as pure functions: no database, no clock but the ``now`` passed in."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.core.inputs import parse_whole
from bot.core.models import RecordKind
from bot.core.settings import Settings

T = TypeVar("T")

#: The card's choices, in the order of its buttons; 0 is 我没参加 (did not attend).
CHOICES: dict[int, str] = {
    5: "非常满意",
    4: "满意",
    3: "一般",
    2: "不满意",
    1: "非常不满意",
    0: "我没参加",
}
DID_NOT_ATTEND = 0

#: Records that are rated by their participants one by one.
RATED_KINDS = (RecordKind.GROUP_ACTIVITY, RecordKind.MONTHLY_GUIDANCE)

#: WeCom sends one message to at most 1,000 people; one task_id per call.
MAX_RECIPIENTS_PER_CARD = 1000


@dataclass(frozen=True)
class RatingPolicy:
    """The configurable numbers (see the RATING_* settings)."""

    window: timedelta = timedelta(days=7)
    weekly_cap: int = 3
    reminder_after: timedelta = timedelta(days=2)
    monthly_cards: bool = True
    deny_flag: int = 2
    activity_length: timedelta = timedelta(hours=2)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # "card", or "page": a textcard linking the rating page for everyone (WeChat-plugin users
    # get it whatever this says); base_url is where phones reach the page
    channel: str = "card"
    base_url: str = "http://127.0.0.1:8000"


def policy_from(settings: Settings) -> RatingPolicy:
    """The policy the RATING_* settings describe."""
    return RatingPolicy(
        window=timedelta(days=settings.RATING_WINDOW_DAYS),
        weekly_cap=settings.RATING_WEEKLY_CAP,
        reminder_after=timedelta(days=settings.RATING_REMINDER_DAYS),
        monthly_cards=settings.RATING_MONTHLY_CARDS,
        deny_flag=settings.RATING_DENY_FLAG,
        activity_length=timedelta(hours=settings.RATING_ACTIVITY_HOURS),
        zone=settings.zone,
        channel=settings.RATING_CHANNEL,
        base_url=settings.PUBLIC_BASE_URL,
    )


class TapOutcome(enum.StrEnum):
    RECORDED = "recorded"
    ALREADY_ANSWERED = "already_answered"
    CLOSED = "closed"  # after the window, or lapsed
    RESULTS_FIXED = "results_fixed"  # the year's assessment results are published or final
    NOT_PARTICIPANT = "not_participant"
    INVALID = "invalid"  # a key this card never carried


def activity_end(occurred_at: datetime, ends_at: datetime | None, policy: RatingPolicy) -> datetime:
    """When an activity ended: its end time, else its start plus the usual length."""
    return ends_at if ends_at is not None else occurred_at + policy.activity_length


def is_due(end: datetime, now: datetime, policy: RatingPolicy) -> bool:
    """Cards go out once an activity has ended, and not for ones older than the window."""
    return end <= now and now - end < policy.window


def parse_choice(value: str) -> int | None:
    """The choice on a card key, or None for anything the card never offered."""
    choice = parse_whole(value, min(CHOICES), max(CHOICES))
    return choice if choice in CHOICES else None


def tap_outcome(
    *,
    participant: bool,
    requested: bool,
    lapsed: bool,
    expires_at: datetime | None,
    answered: bool,
    now: datetime,
    results_fixed: bool = False,
) -> TapOutcome | None:
    """Why a tap is refused, or None when it may be stored (the insert decides the race).

    ``results_fixed``: the assessment of the activity's year is published (公示) or closed.
    Ratings feed satisfaction (S1), and once results are published they change only by a
    correction with a written reason; the results are stored then and never recomputed from
    ratings, so a rating stored now would count nowhere. The tap is refused, with a reason,
    instead of being stored silently. (Cards go out for 7 days after an activity; the year
    ends on 31 August and is published in early September, so this touches only the last
    days' activities of a year.)
    """
    if not participant or not requested:
        return TapOutcome.NOT_PARTICIPANT
    if answered:
        return TapOutcome.ALREADY_ANSWERED
    if results_fixed:
        return TapOutcome.RESULTS_FIXED
    if lapsed or expires_at is None or now >= expires_at:
        return TapOutcome.CLOSED
    return None


def week_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 of ``now``'s week in the university's zone."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0, 0), tzinfo=zone)


def split_by_cap(
    candidates_newest_first: Sequence[T], sent_this_week: int, cap: int
) -> tuple[list[T], list[T]]:
    """(to send, to lapse quietly): the newest activities fill what is left of the weekly cap."""
    room = max(0, cap - sent_this_week)
    return list(candidates_newest_first[:room]), list(candidates_newest_first[room:])


def is_flagged(denials: int, policy: RatingPolicy) -> bool:
    """A record that several participants say they did not attend goes to the college."""
    return denials >= policy.deny_flag


def previous_month(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month before ``now``'s, in the university's zone."""
    first = now.astimezone(zone).date().replace(day=1)
    start = (first - timedelta(days=1)).replace(day=1)
    return _midnight(start, zone), _midnight(first, zone)


def early_in_month(now: datetime, policy: RatingPolicy) -> bool:
    """Last month's guidance cards go out within the first ``window`` of a month."""
    first = now.astimezone(policy.zone).date().replace(day=1)
    return now - _midnight(first, policy.zone) < policy.window


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def chunks(items: Sequence[T], size: int = MAX_RECIPIENTS_PER_CARD) -> list[list[T]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]
