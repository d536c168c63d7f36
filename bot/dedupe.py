"""Each callback is acted on once: a Redis claim in front, a unique database row behind it.

WeCom retries a callback up to 3 times when it gets no 200 within 5 s. The Redis ``SET NX``
answers a retry cheaply; the ``processed_callback`` unique key, written in the same transaction
as the handler's effects, catches what Redis cannot (a lost key, a race across processes).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.models import ProcessedCallback
from bot.redis_store import RedisStore

CLAIM_SECONDS = 24 * 3600


def claim(store: RedisStore, dedupe_key: str) -> bool:
    """True for the first claimant of ``dedupe_key``; False for a retry or a concurrent copy."""
    return bool(store.client.set(store.key("cb", dedupe_key), "1", nx=True, ex=CLAIM_SECONDS))


def release(store: RedisStore, dedupe_key: str) -> None:
    """Undo a claim whose work was rolled back, so WeCom's retry is acted on."""
    store.client.delete(store.key("cb", dedupe_key))


def record(session: so.Session, dedupe_key: str, now: datetime) -> bool:
    """Write the database marker; False when another transaction already acted on it."""
    try:
        with session.begin_nested():
            session.add(ProcessedCallback(dedupe_key=dedupe_key, received_at=now))
    except sa.exc.IntegrityError:
        return False
    return True
