"""Claiming due rows as a lease, and putting rows back unsent.

Several senders may run at once: on PostgreSQL rows are claimed with ``FOR UPDATE SKIP
LOCKED``; a claim is a lease (``available_at`` moves forward), so rows of a sender that crashed
are sent again after the lease, at most once more. Each claim counts an attempt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.core.db import Database
from bot.core.models import OutboxMessage, OutboxStatus

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def claim(database: Database, now: datetime, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due rows to this sender."""
    due = sa.or_(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.status == OutboxStatus.SENDING,  # lease of a crashed sender ran out
    )
    query = (  # oldest first: a person's messages keep their order; a campaign's rows are
        # enqueued together, so they sit side by side and fill calls of up to 1,000 recipients
        sa.select(OutboxMessage)
        .where(due, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.urgent.desc(), OutboxMessage.id)
        .limit(limit)
    )
    with database.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.attempts += 1
            row.available_at = now + LEASE
    return rows


def defer(database: Database, deferred: Sequence[tuple[OutboxMessage, datetime]]) -> None:
    """Back to pending until ``retry_at``; the claim's attempt is not counted."""
    if not deferred:
        return
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for row, retry_at in deferred:
        by_time[retry_at].append(row.id)
    with database.session() as session:
        for retry_at, ids in by_time.items():
            for chunk in chunks(ids):
                session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id.in_(chunk))
                    .values(
                        status=OutboxStatus.PENDING,
                        available_at=retry_at,
                        attempts=OutboxMessage.attempts - 1,
                    )
                )


def chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
