"""Claiming due rows as a lease, and putting rows back unsent.

Several senders may run at once: on PostgreSQL rows are claimed with ``FOR UPDATE SKIP
LOCKED``; a claim is a lease (``available_at`` moves forward), so rows of a sender that crashed
are sent again after the lease, at most once more. Each claim counts an attempt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa

from bot.core.db import Database
from bot.core.models import OutboxMessage, OutboxStatus
from bot.roster.userids import fold

T = TypeVar("T")
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


def defer(
    database: Database,
    deferred: Sequence[tuple[OutboxMessage, datetime]],
    *,
    reason: str | None = None,
) -> None:
    """Back to pending until ``retry_at``; the claim's attempt is not counted. ``reason``
    (as ``last_error``) marks rows held for their person (:mod:`bot.outbox.order`)."""
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
                        **({} if reason is None else {"last_error": reason}),
                    )
                )


def held_before(
    database: Database, rows: Sequence[OutboxMessage], now: datetime, reason: str
) -> dict[str, tuple[int, datetime]]:
    """Per person (folded userid) of ``rows``: the earliest row put back with ``reason`` and
    still waiting, and when it is due; later rows of that person wait for it."""
    userids = sorted({row.userid for row in rows})
    found: dict[str, tuple[int, datetime]] = {}
    with database.session() as session:
        for chunk in chunks(userids):
            waiting = session.execute(
                sa.select(OutboxMessage.userid, OutboxMessage.id, OutboxMessage.available_at)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.available_at > now,
                    OutboxMessage.last_error == reason,
                    OutboxMessage.userid.in_(chunk),
                )
                .order_by(OutboxMessage.id)
            )
            for userid, row_id, due in waiting:
                found.setdefault(fold(userid), (row_id, due))
    return found


def chunks(ids: Sequence[T], size: int = 500) -> list[Sequence[T]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
