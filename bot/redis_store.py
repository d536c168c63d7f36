"""The Redis connection: a real server (``redis://``) or an in-process one (``memory://``)."""

from __future__ import annotations

import fakeredis
import redis
from flask import Flask, current_app

_MEMORY_SERVERS: dict[str, fakeredis.FakeServer] = {}


class RedisStore:
    """A Redis client plus the key prefix every key of this installation carries."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.client: redis.Redis = connect(url)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    def delete_all_keys(self) -> int:
        """Delete every key under this prefix (tests and resets; never other data)."""
        removed = 0
        for batch in _batched(self.client.scan_iter(match=self.prefix + "*", count=500), 500):
            removed += self.client.delete(*batch)
        return removed


def connect(url: str) -> redis.Redis:
    if url.startswith("memory://"):
        name = url.removeprefix("memory://") or "default"
        server = _MEMORY_SERVERS.setdefault(name, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server)
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


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
