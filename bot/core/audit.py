"""The audit log: one entry per change a person (or WeCom, with no actor) made, with what it
was before and after."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy.orm as so

from bot.core.models import AuditEntry, Person


def audit(
    session: so.Session,
    *,
    actor: Person | None,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )
