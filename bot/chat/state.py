"""Conversation state in Redis: one value per person and state key, with an expiry.

A ``StateKey`` names a kind of state and the dataclass it holds, so code never reads or writes
loose strings. Each value carries its own ``expires_at`` and Redis keeps it a day longer, so a
person who comes back to an expired flow is told so instead of being misunderstood.

While Redis is unreachable every read and write raises ``RedisUnavailable``: the callback is
answered "系统繁忙" and nothing of it is kept (bot.chat.webhook).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.core.redis_store import RedisStore

T = TypeVar("T")
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class StateKey(Generic[T]):
    """A kind of conversation state: its name, the dataclass stored, how long it lives."""

    name: str
    kind: type[T]
    ttl: timedelta


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A stored value and whether it has expired (an expired value is never acted on)."""

    value: T
    expired: bool


class ConversationState:
    """The states of one person."""

    def __init__(self, store: RedisStore, userid: str) -> None:
        self.store = store
        self.userid = userid

    def _key(self, key: StateKey[Any]) -> str:
        return self.store.key("state", key.name, self.userid)

    def put(self, key: StateKey[T], value: T, *, now: datetime) -> None:
        if not isinstance(value, key.kind):
            raise TypeError(f"{key.name} holds {key.kind.__name__}, not {type(value).__name__}")
        body = {
            "expires_at": (now + key.ttl).timestamp(),
            "value": dataclasses.asdict(value),  # type: ignore[call-overload]
        }
        seconds = int((key.ttl + GRACE).total_seconds())
        with self.store.reachable("state") as client:
            client.set(self._key(key), json.dumps(body, ensure_ascii=False), ex=seconds)

    def load(self, key: StateKey[T], *, now: datetime) -> Loaded[T] | None:
        """The value with its expiry status; None when there is none (or it is unreadable)."""
        with self.store.reachable("state") as client:
            raw = client.get(self._key(key))
        if raw is None:
            return None
        try:
            body = json.loads(raw)
            value = key.kind(**body["value"])
            expired = now.timestamp() >= float(body["expires_at"])
        except (ValueError, TypeError, KeyError):
            self.clear(key)
            return None
        return Loaded(value, expired)

    def get(self, key: StateKey[T], *, now: datetime) -> T | None:
        """The value if it is there and not expired."""
        loaded = self.load(key, now=now)
        return None if loaded is None or loaded.expired else loaded.value

    def clear(self, key: StateKey[Any]) -> None:
        with self.store.reachable("state") as client:
            client.delete(self._key(key))
