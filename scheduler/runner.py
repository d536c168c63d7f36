"""Running one job (for real or as a dry run), pause state, run counts, and the
single-process lock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.calendar import Rules
from bot.core.db import Database
from bot.core.models import OutboxMessage
from bot.core.redis_store import RedisStore, RedisUnavailable
from bot.ops import metrics
from scheduler.schedule import Entry

log = structlog.get_logger("scheduler")

ALL = "*"


@dataclass(frozen=True)
class Planned:
    """A message a dry run would queue (for the operator's screen, never for logs)."""

    userid: str
    key: str
    available_at: datetime
    preview: str
    lines: tuple[str, ...] = ()  # the whole message as the person would read it


@dataclass
class RunResult:
    added: int
    planned: list[Planned] = field(default_factory=list)


class DryRunDatabase:
    """A Database whose sessions always roll back, noting the outbox rows they would add."""

    def __init__(self, database: Database, now: datetime) -> None:
        self.inner = database
        self.engine = database.engine
        self.sessionmaker = database.sessionmaker
        self.now = now
        self.planned: list[Planned] = []

    @contextmanager
    def session(self) -> Iterator[so.Session]:
        with self.inner.sessionmaker() as session:
            before = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
            try:
                yield session
                session.flush()
                rows = session.scalars(
                    sa.select(OutboxMessage)
                    .where(OutboxMessage.id > before, OutboxMessage.created_at == self.now)
                    .order_by(OutboxMessage.id)
                )
                self.planned += [
                    Planned(
                        row.userid,
                        row.key,
                        row.available_at,
                        preview(row.payload),
                        message_lines(row.payload),
                    )
                    for row in rows
                ]
            finally:
                session.rollback()


def preview(payload: dict[str, Any]) -> str:
    body = payload.get(payload.get("msgtype", ""), {})
    text = body.get("content") or body.get("main_title", {}).get("title") or payload["msgtype"]
    return str(text).replace("\n", " ")


def message_lines(payload: dict[str, Any]) -> tuple[str, ...]:
    """What a person would read in a queued message: a text's lines, or a card's title,
    description, fields, buttons and link."""
    kind = payload.get("msgtype", "")
    body = payload.get(kind, {})
    if "content" in body:
        return tuple(line for line in str(body["content"]).splitlines() if line.strip())
    if kind != "template_card":
        return (kind,)
    title = body.get("main_title", {})
    lines = [title.get("title", ""), title.get("desc", ""), body.get("sub_title_text", "")]
    lines += [
        f"{f['keyname']}：{f.get('value', '')}" for f in body.get("horizontal_content_list", [])
    ]
    buttons = [b["text"] for b in body.get("button_list", [])]
    if buttons:
        lines.append("按钮：" + " / ".join(buttons))
    url = body.get("card_action", {}).get("url")
    if url:
        lines.append(f"链接：{url}")
    return tuple(line for line in lines if line)


def run_entry(
    entry: Entry, database: Database, now: datetime, rules: Rules, *, dry_run: bool = False
) -> RunResult:
    """Call the entry's function at ``now``; a dry run writes nothing."""
    function = entry.function()
    if not dry_run:
        return RunResult(int(function(database, now, rules=rules, **entry.params) or 0))
    dry = DryRunDatabase(database, now)
    added = function(dry, now, rules=rules, **entry.params)
    return RunResult(int(added or 0), dry.planned)


def run_job(
    entry: Entry, database: Database, now: datetime, rules: Rules, controls: Controls
) -> RunResult:
    """Run ``entry`` for real, as the scheduler and ``python -m scheduler run`` do: note it as
    the job's last run and count it in ``mentorbot_job_runs_total`` (outcome ok or failed; a
    failure is counted, then raised)."""
    try:
        result = run_entry(entry, database, now, rules)
    except Exception:
        controls.count_run(entry.id, "failed")
        raise
    controls.note_run(entry.id, now, result.added)
    controls.count_run(entry.id, "ok")
    return result


# --- pause state, last run ----------------------------------------------------------------


class Controls:
    """Operator switches shared through Redis, read by the running scheduler at each run.

    Reading or changing a switch raises ``RedisUnavailable`` while Redis is unreachable; noting
    a run's time and counting it are skipped then (the run itself is what matters)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.paused_key = store.key("scheduler", "paused")

    def pause(self, job_id: str = ALL) -> None:
        with self.store.reachable("scheduler controls") as client:
            client.sadd(self.paused_key, job_id)

    def resume(self, job_id: str = ALL) -> None:
        with self.store.reachable("scheduler controls") as client:
            if job_id == ALL:
                client.delete(self.paused_key)
            else:
                client.srem(self.paused_key, job_id)

    def paused(self) -> set[str]:
        with self.store.reachable("scheduler controls") as client:
            return {m.decode() for m in client.smembers(self.paused_key)}

    def is_paused(self, job_id: str) -> bool:
        paused = self.paused()
        return ALL in paused or job_id in paused

    def note_run(self, job_id: str, now: datetime, added: int) -> None:
        try:
            with self.store.reachable("scheduler controls") as client:
                client.hset(
                    self.store.key("scheduler", "last_run"), job_id, f"{now.isoformat()} {added}"
                )
        except RedisUnavailable:
            pass

    def count_run(self, job_id: str, outcome: str) -> None:
        """One run of ``job_id`` in the counters every process shares (shown at /metrics)."""
        metrics.count_job_run(self.store, job_id, outcome)

    def last_runs(self) -> dict[str, str]:
        with self.store.reachable("scheduler controls") as client:
            raw = client.hgetall(self.store.key("scheduler", "last_run"))
        return {k.decode(): v.decode() for k, v in raw.items()}


class SingleLock:
    """A lease in Redis held by one scheduler process; others wait. No Lua needed: set if
    absent with a TTL, and renew or release only while the value is still our token. Each
    call raises ``RedisUnavailable`` when Redis cannot be reached (the holder then stands
    down: it cannot know whether its lease still holds)."""

    def __init__(self, store: RedisStore, name: str = "scheduler", ttl_seconds: int = 30) -> None:
        self.store = store
        self.key = store.key("lock", name)
        self.ttl_ms = ttl_seconds * 1000
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        with self.store.reachable("scheduler lock") as client:
            return bool(client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        return self._if_ours(lambda pipe: pipe.pexpire(self.key, self.ttl_ms))

    def release(self) -> bool:
        return self._if_ours(lambda pipe: pipe.delete(self.key))

    def _if_ours(self, action: Any) -> bool:
        with self.store.reachable("scheduler lock") as client, client.pipeline() as pipe:
            try:
                pipe.watch(self.key)
                value = pipe.get(self.key)
                if value is None or value.decode() != self.token:
                    pipe.unwatch()
                    return False
                pipe.multi()
                action(pipe)
                pipe.execute()
                return True
            except redis.WatchError:
                return False
