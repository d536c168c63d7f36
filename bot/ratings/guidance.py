"""The month's individual guidance as a record the students rate: at the start of a month,
``ensure_monthly_guidance`` writes for each mentor one MONTHLY_GUIDANCE record of the month
before, whose participants are every student the mentor contacted then (added to, never
duplicated, when it runs again). The cards for it are then sent like any activity's
(:func:`bot.ratings.asking.send_cards`). Runs in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Record, RecordKind, RecordParticipant
from bot.ratings import rules
from bot.ratings.rules import RatingPolicy


def ensure_monthly_guidance(
    session: so.Session,
    now: datetime,
    policy: RatingPolicy,
    month: tuple[datetime, datetime] | None = None,
) -> list[Record]:
    """Last month's (or ``month``'s: [start, end)) MONTHLY_GUIDANCE record per mentor, with
    every student contacted then."""
    from bot.records.service import current_year

    start, end = month or rules.previous_month(now, policy.zone)
    contacted: dict[int, set[int]] = defaultdict(set)
    for mentor_id, student_id in session.execute(
        sa.select(Record.mentor_id, RecordParticipant.student_id)
        .join(RecordParticipant, RecordParticipant.record_id == Record.id)
        .where(
            Record.kind == RecordKind.CONTACT,
            Record.deleted_at.is_(None),
            Record.occurred_at >= start,
            Record.occurred_at < end,
        )
    ):
        contacted[mentor_id].add(student_id)
    if not contacted:
        return []
    existing = {
        record.mentor_id: record
        for record in session.scalars(
            sa.select(Record).where(
                Record.kind == RecordKind.MONTHLY_GUIDANCE,
                Record.deleted_at.is_(None),
                Record.mentor_id.in_(contacted),
                Record.occurred_at >= start,
                Record.occurred_at < end,
            )
        )
    }
    last_day = (end - timedelta(days=1)).date()
    year = current_year(session, last_day)
    if year is None:
        return []
    guidance_at = datetime.combine(last_day, time(20, 0), tzinfo=policy.zone)
    records = []
    for mentor_id, student_ids in sorted(contacted.items()):
        record = existing.get(mentor_id)
        if record is None:
            record = Record(
                year_id=year.id,
                mentor_id=mentor_id,
                kind=RecordKind.MONTHLY_GUIDANCE,
                title=f"{start.month}月个别指导",
                occurred_at=guidance_at,
                created_at=now,
                updated_at=now,
            )
            session.add(record)
        have = {participant.student_id for participant in record.participants}
        for student_id in sorted(student_ids - have):
            record.participants.append(RecordParticipant(student_id=student_id))
        records.append(record)
    session.flush()
    return records
