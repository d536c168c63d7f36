"""Each callback is acted on once: a unique database row decides; Redis answers late retries.

WeCom retries a callback up to 3 times when it gets no 200 within 5 s, and the retry may reach
another web process. The ``processed_callback`` unique key is written first, in the same
transaction as the handler's effects, so it is what makes a callback count once: a copy racing
the first one waits on that row and finds it taken, and when the process acting on a callback
dies mid-transaction, the transaction rolls back and the next copy acts.

In front of it, Redis remembers for a day the callbacks whose transaction committed, so a retry
of a finished callback is answered without touching the database. Redis is told only after
the commit: a mark set before the work would outlive a process killed mid-transaction and have
WeCom's retries of a callback nobody acted on answered as duplicates (the callback lost).

While Redis is unreachable every callback goes to the database marker: nothing is lost or acted
on twice, it only costs a transaction per retry.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import InsertIgnoringConflicts
from bot.core.models import ProcessedCallback
from bot.core.redis_store import RedisStore, RedisUnavailable

DONE_SECONDS = 24 * 3600

# every callback runs it: built once (see InsertIgnoringConflicts)
_INSERT_MARKER = InsertIgnoringConflicts(
    ProcessedCallback.__table__,
    "dedupe_key",
    {"dedupe_key": sa.bindparam("dedupe_key"), "received_at": sa.bindparam("received_at")},
)


def seen(store: RedisStore, dedupe_key: str) -> bool:
    """True when ``dedupe_key`` was already acted on: a retry to answer at once. False when
    Redis cannot say (the database marker decides)."""
    try:
        with store.reachable("dedupe") as client:
            return bool(client.exists(store.key("cb", dedupe_key)))
    except RedisUnavailable:
        return False


def remember(store: RedisStore, dedupe_key: str) -> None:
    """Note that ``dedupe_key`` was acted on (after its transaction committed); skipped while
    Redis is unreachable (a retry then meets the database marker)."""
    try:
        with store.reachable("dedupe") as client:
            client.set(store.key("cb", dedupe_key), "1", ex=DONE_SECONDS)
    except RedisUnavailable:
        pass


def record(session: so.Session, dedupe_key: str, now: datetime) -> bool:
    """Write the database marker in the caller's transaction; False when another transaction
    already acted on the callback.

    A copy whose marker another open transaction is writing waits for it: False if that one
    commits, True (act) if it rolls back. No SAVEPOINT: on SQLite a savepoint opened before
    any other statement would commit the marker on its own, apart from the handler's work."""
    inserted = _INSERT_MARKER.execute(session, {"dedupe_key": dedupe_key, "received_at": now})
    return inserted.first() is not None
