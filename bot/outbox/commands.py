"""Operator commands for dead letters: ``flask --app bot outbox dead`` and ``retry-dead``."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from bot.core.db import Database
from bot.core.models import OutboxMessage, OutboxStatus


def retry_dead(database: Database, now: datetime) -> int:
    """Put every dead letter back in the queue with a fresh set of attempts."""
    with database.session() as session:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .values(status=OutboxStatus.PENDING, attempts=0, available_at=now)
        )
        return result.rowcount or 0


@click.command("dead")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def dead_command(limit: int) -> None:
    """List dead letters (who, campaign key, attempts, error; never the contents)."""
    from bot.core.db import get_database

    with get_database().session() as session:
        total = session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.DEAD)
        )
        rows = session.execute(
            sa.select(
                OutboxMessage.id,
                OutboxMessage.userid,
                OutboxMessage.key,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
            )
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        ).all()
    for row in rows:
        click.echo(f"{row.id}\t{row.userid}\t{row.key}\t{row.attempts}\t{row.last_error}")
    click.echo(f"死信共 {total} 条")


@click.command("retry-dead")
@with_appcontext
def retry_dead_command() -> None:
    """Queue every dead letter again (after fixing what made it fail)."""
    from bot.core.db import get_database

    click.echo(f"已重新排队 {retry_dead(get_database(), datetime.now(UTC))} 条死信")


DEAD_LETTER_COMMANDS = (dead_command, retry_dead_command)
