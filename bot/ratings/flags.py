"""Did-not-attend flags: once enough participants of a record answer 我没参加, the record is
flagged for the college that assesses its mentor (an audit entry, so once, and a message to
the college's admins, else the academy office). ``flag_if_denied`` runs after such a tap;
``sweep_flags`` catches the records whose threshold was crossed by taps that raced each
other. Runs in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AuditEntry, MentorAssignment, Rating, Record, Role
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.ratings import cards, rules
from bot.ratings.rules import RatingPolicy
from bot.roster.holders import holder_userids

FLAG_ACTION = "rating_flag"


def denials(session: so.Session, record_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(Rating.id)).where(
                Rating.record_id == record_id, Rating.attended.is_(False)
            )
        )
        or 0
    )


def is_flagged(session: so.Session, record_id: int) -> bool:
    return bool(
        session.scalar(
            sa.select(
                sa.select(AuditEntry.id)
                .where(
                    AuditEntry.entity == "record",
                    AuditEntry.entity_id == str(record_id),
                    AuditEntry.action == FLAG_ACTION,
                )
                .exists()
            )
        )
    )


def flag_if_denied(
    session: so.Session, record: Record, now: datetime, policy: RatingPolicy
) -> bool:
    """Flag ``record`` for its college once enough participants say they did not attend."""
    count = denials(session, record.id)
    if not rules.is_flagged(count, policy) or is_flagged(session, record.id):
        return False
    session.add(
        AuditEntry(
            at=now,
            actor_id=None,
            action=FLAG_ACTION,
            entity="record",
            entity_id=str(record.id),
            before=None,
            after={"denials": count, "threshold": policy.deny_flag},
        )
    )
    outbox.enqueue(
        session,
        college_admins(session, record),
        Message.text(
            cards.flagged_text(
                mentor_name=record.mentor.name,
                title=record.title,
                at=record.occurred_at,
                denials=count,
                zone=policy.zone,
            )
        ),
        key=f"rating-flag:{record.id}",
        now=now,
    )
    return True


def college_admins(session: so.Session, record: Record) -> list[str]:
    """The admins of the college that assesses the record's mentor (else the academy office)."""
    college_id = session.scalar(
        sa.select(MentorAssignment.college_id).where(
            MentorAssignment.mentor_id == record.mentor_id,
            MentorAssignment.year_id == record.year_id,
        )
    )
    userids: list[str] = []
    if college_id is not None:
        userids = holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college_id)
    return sorted(userids or holder_userids(session, Role.ACADEMY_ADMIN))


def sweep_flags(session: so.Session, now: datetime, policy: RatingPolicy) -> int:
    """Flag records whose denials crossed the threshold in taps that raced each other."""
    rows = session.scalars(
        sa.select(Rating.record_id)
        .where(Rating.attended.is_(False))
        .group_by(Rating.record_id)
        .having(sa.func.count(Rating.id) >= policy.deny_flag)
    ).all()
    flagged = 0
    for record_id in rows:
        record = session.get(Record, record_id)
        if record is not None and flag_if_denied(session, record, now, policy):
            flagged += 1
    return flagged
