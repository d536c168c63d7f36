"""Pruning (every night by the scheduler job ``outbox_prune``, and with ``retention purge``):
outbox rows are message texts (rating thank-yous, objections, replies quoting records, names),
so a finished row (sent, failed permanently, dead letter) goes ``OUTBOX_KEEP_DAYS`` after its
last attempt; a pending or sending row is never touched. ``processed_callback`` rows go after
``CALLBACK_KEEP_DAYS``: WeCom retries a callback within seconds and the Redis mark in front of
the table lasts a day, so a week is ample. Both deletes are set-based, in batches of their own
transactions, and re-check the condition in the DELETE itself, so a row that a sender or
``outbox retry-dead`` changes meanwhile is left alone. ``overdue_escalation`` rows are kept:
they are what keeps a pruned escalation from being sent again, and hold only ids and a time
(no name, no recipient), so neither retention nor the person export touches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.core.db import Database
from bot.core.models import (
    OutboxMessage,
    OutboxStatus,
    ProcessedCallback,
)

log = structlog.get_logger("bot.ops.retention")

#: Outbox statuses nothing changes any more (``outbox retry-dead`` aside).
FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD)
CALLBACK_KEEP_DAYS = 7
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class PruneReport:
    outbox_keep_days: int
    outbox: int = 0
    callbacks: int = 0

    def lines(self) -> list[str]:
        return [
            f"已结束的消息（已发送、发送失败、死信，最后一次发送超过 {self.outbox_keep_days} 天）："
            f"{self.outbox} 条",
            f"回调去重记录（超过 {CALLBACK_KEEP_DAYS} 天）：{self.callbacks} 条",
        ]


def old_outbox(now: datetime, keep_days: int) -> sa.ColumnElement[bool]:
    """Finished rows whose last attempt ended more than ``keep_days`` before ``now``.

    Every claim moves ``available_at`` to the end of the sender's lease and a finished row is
    never claimed again, so for a sent, failed or dead row it is (a lease after) its last
    attempt: a dead letter is kept ``keep_days`` after it died, however old, and one put back
    by ``outbox retry-dead`` is pending again, with ``available_at`` now. The condition uses
    the index on (status, available_at)."""
    cutoff = now - timedelta(days=keep_days)
    return sa.and_(
        OutboxMessage.status.in_(FINISHED),
        OutboxMessage.available_at < cutoff,
        OutboxMessage.created_at < cutoff,
    )


def old_callbacks(now: datetime) -> sa.ColumnElement[bool]:
    return ProcessedCallback.received_at < now - timedelta(days=CALLBACK_KEEP_DAYS)


def prune_messages(
    database: Database,
    now: datetime,
    *,
    outbox_keep_days: int,
    dry_run: bool = False,
    batch: int = PRUNE_BATCH,
) -> PruneReport:
    """Delete finished outbox rows and processed callbacks past their period (with
    ``dry_run`` only count them). Each batch is its own transaction; safe while senders run."""
    outbox = old_outbox(now, outbox_keep_days)
    callbacks = old_callbacks(now)
    if dry_run:
        with database.session() as session:
            return PruneReport(
                outbox_keep_days,
                outbox=count_rows(session, sa.select(OutboxMessage.id).where(outbox)),
                callbacks=count_rows(session, sa.select(ProcessedCallback.id).where(callbacks)),
            )
    report = PruneReport(
        outbox_keep_days,
        outbox=_delete_in_batches(database, OutboxMessage, outbox, batch),
        callbacks=_delete_in_batches(database, ProcessedCallback, callbacks, batch),
    )
    log.info("retention_pruned", outbox=report.outbox, callbacks=report.callbacks)
    return report


def _delete_in_batches(
    database: Database,
    model: type[OutboxMessage] | type[ProcessedCallback],
    condition: sa.ColumnElement[bool],
    batch: int,
) -> int:
    """DELETE the rows of ``model`` matching ``condition``, ``batch`` ids at a time in id
    order. Nothing is loaded but the batch's highest id; the DELETE repeats ``condition``,
    so a row changed since the SELECT (a dead letter queued again) is not deleted."""
    deleted, after = 0, 0
    while True:
        with database.session() as session:
            ids = (
                sa.select(model.id)
                .where(condition, model.id > after)
                .order_by(model.id)
                .limit(batch)
                .subquery()
            )
            upper = session.scalar(sa.select(sa.func.max(ids.c.id)))
            if upper is None:
                return deleted
            result = session.execute(
                sa.delete(model)
                .where(model.id > after, model.id <= upper, condition)
                .execution_options(synchronize_session=False)
            )
            deleted += result.rowcount or 0  # type: ignore[attr-defined]
        after = upper


def current_outbox_keep_days() -> int:
    """OUTBOX_KEEP_DAYS of the running app, else of the environment, else the default."""
    from flask import current_app, has_app_context

    from bot.core.settings import Settings, SettingsError, load_settings

    if has_app_context():
        return int(current_app.extensions["settings"].OUTBOX_KEEP_DAYS)
    try:
        return load_settings().OUTBOX_KEEP_DAYS
    except SettingsError:
        return int(Settings.model_fields["OUTBOX_KEEP_DAYS"].default)


def prune_job(database: Database, now: datetime, **_: Any) -> int:
    """The scheduler's nightly entry (``outbox_prune``): :func:`prune_messages` with
    OUTBOX_KEEP_DAYS (the setting only, validated, never a schedule parameter). Idempotent: a
    second run finds nothing left. It adds no message, so it returns 0."""
    prune_messages(database, now, outbox_keep_days=current_outbox_keep_days())
    return 0


def count_rows(session: so.Session, query: sa.Select) -> int:  # type: ignore[type-arg]
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
