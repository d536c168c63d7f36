"""The scheduler's entry points: ``job(database, now, **_) -> int`` (messages queued).

Each opens its own transaction, reads no clock but ``now`` and may run twice or twice at once
without sending anybody a second card or reminder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, has_app_context

from bot.calendar import is_working_day
from bot.core.db import Database
from bot.core.settings import SettingsError, load_settings
from bot.ratings import asking, closing, flags, guidance, rules
from bot.ratings.rules import RatingPolicy


def current_policy() -> RatingPolicy:
    """The RATING_* settings of the running app, else of the environment, else the defaults.

    Outside an app (a test, a dry run) the WeCom settings may be missing; they play no part in
    the policy, whose every value has a default.
    """
    if has_app_context():
        return rules.policy_from(current_app.extensions["settings"])
    try:
        return rules.policy_from(load_settings())
    except SettingsError:
        return RatingPolicy()


def send_rating_cards(
    database: Database, now: datetime, *, policy: RatingPolicy | None = None, **_: Any
) -> int:
    """Cards for ended group activities and, early in a month, last month's guidance."""
    policy = policy or current_policy()
    with database.session() as session:
        records = asking.due_activities(session, now, policy)
        if policy.monthly_cards and rules.early_in_month(now, policy):
            records += guidance.ensure_monthly_guidance(session, now, policy)
        return asking.send_cards(session, records, now, policy).cards


def send_monthly_guidance_cards(
    database: Database, now: datetime, *, policy: RatingPolicy | None = None, **_: Any
) -> int:
    """Last month's guidance cards only (for a schedule that runs it on the 1st)."""
    policy = policy or current_policy()
    if not policy.monthly_cards:
        return 0
    with database.session() as session:
        records = guidance.ensure_monthly_guidance(session, now, policy)
        return asking.send_cards(session, records, now, policy).cards


def send_rating_reminders(
    database: Database,
    now: datetime,
    *,
    policy: RatingPolicy | None = None,
    working_days_only: bool = False,
    **_: Any,
) -> int:
    """Lapse what expired, flag denied records, remind who has not answered after 2 days.

    With ``working_days_only`` (the default schedule sets it) reminders wait for a working
    day (weekends and public holidays by the Chinese calendar); lapsing and flagging do not."""
    policy = policy or current_policy()
    with database.session() as session:
        asking.lapse_expired(session, now)
        flags.sweep_flags(session, now, policy)
        if working_days_only and not is_working_day(now.astimezone(policy.zone).date()):
            return 0
        return asking.send_reminders(session, now, policy)


def close_rating_cards(database: Database, now: datetime, **_: Any) -> int:
    """Unanswered cards whose window has ended show "已截止" (sent within WeCom's 72 h)."""
    with database.session() as session:
        return closing.close_ended_cards(session, now)
