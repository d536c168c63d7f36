"""The Redis connection: a real server (``redis://``) or an in-process one (``memory://``).

Redis is the fast path, never the ledger, so every use of it goes through
:meth:`RedisStore.reachable`, which turns Redis's own errors (refused, reset, timed out) into
:class:`RedisUnavailable` for the caller to fall back on, and keeps the outage's state for the
process: the outage is logged once when it starts and once when it ends, not per request, and
for ``RETRY_SECONDS`` after a failure callers are answered at once instead of each waiting on a
Redis that does not answer (a hung Redis would otherwise cost every callback the socket
timeout).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import fakeredis
import redis
import structlog
from flask import Flask, current_app

log = structlog.get_logger("bot.redis")

_MEMORY_SERVERS: dict[str, fakeredis.FakeServer] = {}

# what an unreachable Redis raises (redis-py wraps the socket's errors in its own)
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError,)
RETRY_SECONDS = 2.0  # after a failure, Redis is tried again this much later
CONNECT_TIMEOUT_SECONDS = 1.0  # Redis is on the LAN: a connect that takes longer will not come
SOCKET_TIMEOUT_SECONDS = 3.0


class RedisUnavailable(Exception):
    """Redis cannot be reached now; the caller falls back (database, wait, "系统繁忙")."""


class RedisStore:
    """A Redis client plus the key prefix every key of this installation carries, and the
    state of an outage as this process sees it."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.client: redis.Redis = connect(url)
        self._lock = threading.Lock()
        self._down_since: float | None = None  # monotonic time of the outage's first failure
        self._retry_at = 0.0  # monotonic: no attempt before this

    @property
    def down(self) -> bool:
        """True from a failure until the next successful use."""
        return self._down_since is not None

    @contextmanager
    def reachable(self, where: str) -> Iterator[redis.Redis]:
        """The client, for one use of Redis; raises :class:`RedisUnavailable` when Redis is
        down (at once within ``RETRY_SECONDS`` of the last failure)."""
        if self._down_since is not None and time.monotonic() < self._retry_at:
            raise RedisUnavailable(where)
        try:
            yield self.client
        except REDIS_ERRORS as exc:
            self.failed(where, exc)
            raise RedisUnavailable(where) from exc
        if self._down_since is not None:
            self._recovered()

    def failed(self, where: str, exc: Exception) -> None:
        """Note that a use of Redis failed (logged when an outage starts)."""
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + RETRY_SECONDS
            if self._down_since is not None:
                return
            self._down_since = now
        log.warning("redis_unavailable", where=where, error=type(exc).__name__)

    def _recovered(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            seconds = time.monotonic() - self._down_since
            self._down_since = None
        log.warning("redis_recovered", seconds=round(seconds, 1))

    def ping(self) -> bool:
        """True when Redis answers now (readiness, metrics); never raises."""
        try:
            with self.reachable("ping") as client:
                client.ping()
        except RedisUnavailable:
            return False
        return True

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    def delete_all_keys(self) -> int:
        """Delete every key under this prefix (tests and resets; never other data)."""
        removed = 0
        for batch in _batched(self.client.scan_iter(match=self.prefix + "*", count=500), 500):
            removed += self.client.delete(*batch)
        return removed


class Backoff:
    """Waits between attempts to reach Redis again: 1 s, 2 s, 4 s … at most ``cap`` s."""

    def __init__(self, first: float = 1.0, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.current = first

    def next(self) -> float:
        delay = self.current
        self.current = min(self.cap, self.current * 2)
        return delay

    def reset(self) -> None:
        self.current = self.first


def connect(url: str) -> redis.Redis:
    if url.startswith("memory://"):
        name = url.removeprefix("memory://") or "default"
        server = _MEMORY_SERVERS.setdefault(name, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server)
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )


def _batched(iterable, size):  # type: ignore[no-untyped-def]
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def init_app(app: Flask, store: RedisStore) -> None:
    app.extensions["redis"] = store


def get_redis(app: Flask | None = None) -> RedisStore:
    return (app or current_app).extensions["redis"]
