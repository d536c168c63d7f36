"""The cycle's scoring cards close at their deadline: once a college's or the academy's scoring
deadline day has passed without a submission, the scoring card of each administrator it went to
shows "已截止" instead of its 提交评分 button (:mod:`bot.outbox.card_closing`: only cards sent
within WeCom's 72 hours can be updated, older ones are left as they are). Late scores are still
taken: the overdue reminders say how (评分表, 提交评分), and the card's link still opens.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.db import Database
from bot.core.models import AssessmentCycle, CycleStatus, OutboxMessage, Submission
from bot.cycle.reminders import parse_deadline
from bot.cycle.submissions import parse_scope
from bot.outbox.card_closing import RESPONSE_CODE_LIFETIME, close_cards

SCORING_STEPS = ("college", "academy")


def close_scoring_cards(database: Database, now: datetime, *, rules: Any = None, **_: Any) -> int:
    """The scheduler's job: close the scoring cards of every step whose deadline has passed
    (the deadline day itself included) with nothing submitted. Returns the cards updated."""
    zone = rules.zone if rules is not None else ZoneInfo("Asia/Shanghai")
    queued = 0
    with database.session() as session:
        cycles = session.scalars(
            sa.select(AssessmentCycle).where(AssessmentCycle.status == CycleStatus.OPEN)
        ).all()
        for cycle in cycles:
            for step in SCORING_STEPS:
                parsed = parse_deadline((cycle.deadlines or {}).get(step), zone)
                if parsed is None:
                    continue
                ended = datetime.combine(parsed[0] + timedelta(days=1), time(0), zone)
                if not now - RESPONSE_CODE_LIFETIME <= ended <= now:
                    continue
                submitted = set(
                    session.scalars(
                        sa.select(Submission.subject_id).where(
                            Submission.cycle_id == cycle.id, Submission.step == step
                        )
                    )
                )
                keys = session.scalars(
                    sa.select(OutboxMessage.key).where(
                        OutboxMessage.key.like(f"cycle:{cycle.id}:open:{step}%")
                    )
                ).all()
                open_keys = []
                for key in keys:
                    scope = parse_scope(key.split(":")[3])
                    if scope is not None and scope.subject_id not in submitted:
                        open_keys.append(key)
                queued += close_cards(session, open_keys, now=now)
    return queued
