"""The outbox sender: claims due rows, sends identical messages together, records outcomes.

Several senders may run at once: on PostgreSQL rows are claimed with ``FOR UPDATE SKIP
LOCKED``; a claim is a lease (``available_at`` moves forward), so rows of a sender that crashed
are sent again after the lease, at most once more, and WeCom's ``enable_duplicate_check``
suppresses that duplicate. Per-person limits (30 in any 60 s, 1,000 in any 3,600 s) are kept with
a send log per person in Redis and the per-app call limit of the send API with a per-minute
counter, both shared by all senders.

Memory stays flat however long the queue: each pass claims at most ``limit`` rows and marks
outcomes with a few set-based UPDATEs. A message that keeps failing becomes a dead letter and
the system and academy administrators are told (at most once an hour; an alert that itself
dies alerts nobody, so there is no loop).

Images and files (``Message.image`` / ``Message.file``) wait in the outbox as a storage key:
sending one uploads the stored file as WeCom temporary media (valid 3 days) and sends its
media_id. The media_id is kept in Redis for ``MEDIA_REUSE`` (less than the 3 days) and shared by
every sender, so a campaign's later calls, a retry or a crash-resend reuse it: a file is uploaded
once, and a resend is identical, so the duplicate check still holds. An upload that fails, or a
stored file that cannot be read, fails the call like any other error (backoff, dead letter).

Nothing is sent over WeCom's size limits: rows are shaped when enqueued
(:func:`bot.wecom.limits.shape`) and again here, for rows stored before that; an old row with an
id too long for WeCom fails at once rather than being retried.

The limiter, the media cache and the access token live in Redis, so while Redis is unreachable
nothing is sent: rows are held (back to pending, the attempt not counted) rather than sent
without the per-person limits, and the loop waits with backoff until Redis answers again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa
import structlog
from flask import Flask
from flask.cli import with_appcontext

from bot.core.db import Database
from bot.core.models import OutboxMessage, OutboxStatus
from bot.core.redis_store import Backoff, RedisStore, RedisUnavailable
from bot.core.storage import FileStore
from bot.ops import metrics
from bot.outbox.queue import MAX_RECIPIENTS_PER_CALL, stored_file
from bot.roster.holders import holder_userids
from bot.wecom import limits
from bot.wecom.client import SendResult, WeComAPIError, WeComClient, WeComError

log = structlog.get_logger("bot.outbox.sender")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
PER_MINUTE = 30
PER_HOUR = 1000
CALLS_PER_MINUTE = 9000  # WeCom allows 10,000 calls of one API a minute per company
CLAIM_LIMIT = 2000
ALERT_PREFIX = "alert:"
TASK_ID_BYTES = 128
PERMANENT_ERRORS = frozenset({81013, 60020, 40003})  # nobody reachable / IP not trusted
ALREADY_SENT_ERRORS = frozenset({42014})  # task_id used: the card went out before a crash
MEDIA_EXPIRED_ERRORS = frozenset({40007})  # invalid media_id: upload again on the next attempt
MEDIA_REUSE = timedelta(days=2)  # WeCom keeps temporary media 3 days


@dataclass
class DrainReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    dead: int = 0
    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # WeCom errcode → calls ("0" = sent)
    held: int = 0  # claimed but put back unsent: Redis (limiter, media, token) unreachable


MINUTE_MS = 60_000
HOUR_MS = 3_600_000
RATE_KEY_TTL = 3_660  # seconds: a person's send log outlives its newest entry by an hour
RESERVE_CHUNK = 1000  # messages per script call (each call is one atomic step in Redis)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# KEYS: one send log per person (a sorted set: member per message, score = send time in ms).
# ARGV: now, now - 1 minute, now - 1 hour, 1 minute, 1 hour (ms), per_minute, per_hour, ttl (s),
# a token unique to this call, then for each message in order the index in KEYS of its person.
# Returns for each message 0 (taken: logged at ``now``) or the time in ms when the person's
# windows have room again (the oldest entry of the full window leaves it).
_RESERVE = """
local now, minute_ago, hour_ago = ARGV[1], ARGV[2], ARGV[3]
local minute, hour = tonumber(ARGV[4]), tonumber(ARGV[5])
local per_minute, per_hour = tonumber(ARGV[6]), tonumber(ARGV[7])
local ttl, token = tonumber(ARGV[8]), ARGV[9]
local in_minute, in_hour, retry, added, answers = {}, {}, {}, {}, {}
local function expiry(key, rank, window)
  local entry = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
  return tonumber(entry[2]) + window
end
for i = 10, #ARGV do
  local k = tonumber(ARGV[i])
  local key = KEYS[k]
  if in_hour[k] == nil then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', hour_ago)
    in_hour[k] = redis.call('ZCARD', key)
    in_minute[k] = redis.call('ZCOUNT', key, '(' .. minute_ago, '+inf')
  end
  if in_minute[k] < per_minute and in_hour[k] < per_hour then
    redis.call('ZADD', key, now, now .. ':' .. token .. ':' .. i)
    in_minute[k] = in_minute[k] + 1
    in_hour[k] = in_hour[k] + 1
    added[k] = true
    answers[#answers + 1] = 0
  else
    if retry[k] == nil then
      local at = 0
      if in_hour[k] >= per_hour then
        at = expiry(key, in_hour[k] - per_hour, hour)
      end
      if in_minute[k] >= per_minute then
        local minute_at = expiry(key, in_hour[k] - per_minute, minute)
        if minute_at > at then at = minute_at end
      end
      retry[k] = at
    end
    answers[#answers + 1] = retry[k]
  end
end
for k in pairs(added) do
  redis.call('EXPIRE', KEYS[k], ttl)
end
return answers
"""

# KEYS: a person's send log, once per message given back; ARGV[1]: when it was taken (ms).
_GIVE_BACK = """
local removed = 0
for i = 1, #KEYS do
  local taken = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
  if taken[1] then
    redis.call('ZREM', KEYS[i], taken[1])
    removed = removed + 1
  end
end
return removed
"""


# KEYS: the app's call log (a sorted set: member per call, score = call time in ms).
# ARGV: now, now - 1 minute, 1 minute (ms), calls allowed in any minute, a token unique to this
# call. Returns 0 (taken: logged at ``now``) or the time in ms when the window has room again.
_CALL = """
local key, now, minute_ago = KEYS[1], ARGV[1], ARGV[2]
local minute, per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', minute_ago)
local count = redis.call('ZCARD', key)
if count < per_minute then
  redis.call('ZADD', key, now, now .. ':' .. ARGV[5])
  redis.call('PEXPIRE', key, minute)
  return 0
end
local entry = redis.call('ZRANGE', key, count - per_minute, count - per_minute, 'WITHSCORES')
return tonumber(entry[2]) + minute
"""


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:  # naive: local time, as datetime.timestamp() reads it
        moment = moment.astimezone()
    return (moment - _EPOCH) // _MS


def _at_millis(millis: int) -> datetime:
    """The moment ``millis`` (ms since the epoch), rounded up to a whole second."""
    return datetime.fromtimestamp(-(-millis // 1000), UTC)


class RateLimiter:
    """WeCom's per-person limits for one app, shared by every sender through Redis.

    Each person has a send log in Redis (a sorted set of send times, ``rate:log:<userid>``):
    a message may go only if the person got fewer than ``per_minute`` messages in the 60 s
    before it and fewer than ``per_hour`` in the 3,600 s before it, so the limits hold over any
    minute and any hour, not only clock-minutes. Checking and logging is one Lua script, atomic
    however many senders reserve at once. A log loses entries older than an hour whenever it is
    touched and expires an hour after its newest entry, so it holds at most ``per_hour`` entries.
    Time is always passed in (``now``); the limiter never reads the clock.
    """

    def __init__(self, store: RedisStore, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR):
        self.store = store
        self.per_minute = per_minute
        self.per_hour = per_hour

    def _log_key(self, userid: str) -> str:
        return self.store.key("rate", "log", userid)

    def try_take(self, userid: str, now: datetime) -> datetime | None:
        """Count one message to ``userid``; None if allowed, else when to try again."""
        return self.try_take_many([userid], now)[0]

    def try_take_many(self, userids: Sequence[str], now: datetime) -> list[datetime | None]:
        """:meth:`try_take` for many messages, one script call per 1,000 (in order: a person's
        31st message within a minute is the one refused). A refused message's time is when the
        oldest message in the full window leaves it (rounded up to the second)."""
        millis = _millis(now)
        token = secrets.token_hex(6)
        answers: list[datetime | None] = []
        for start in range(0, len(userids), RESERVE_CHUNK):
            chunk = userids[start : start + RESERVE_CHUNK]
            index: dict[str, int] = {}
            for userid in chunk:
                index.setdefault(userid, len(index) + 1)
            replies = self._eval(
                _RESERVE,
                [self._log_key(userid) for userid in index],
                [
                    millis,
                    millis - MINUTE_MS,
                    millis - HOUR_MS,
                    MINUTE_MS,
                    HOUR_MS,
                    self.per_minute,
                    self.per_hour,
                    RATE_KEY_TTL,
                    f"{token}:{start}",
                    *(index[userid] for userid in chunk),
                ],
            )
            answers += [None if reply == 0 else _at_millis(int(reply)) for reply in replies]
        return answers

    def give_back(self, rows: Sequence[OutboxMessage], now: datetime) -> None:
        """Undo :meth:`try_take` for rows that were not sent after all (``now`` is the time
        they were taken at)."""
        millis = _millis(now)
        for start in range(0, len(rows), RESERVE_CHUNK):
            chunk = rows[start : start + RESERVE_CHUNK]
            self._eval(_GIVE_BACK, [self._log_key(row.userid) for row in chunk], [millis])

    def _eval(self, script: str, keys: list[str], args: list[object]) -> Any:
        # EVAL rather than register_script's EVALSHA: Redis caches the compiled script either
        # way, and there is no NOSCRIPT round trip, which fakeredis's TCP server (the tests'
        # shared Redis) answers by dropping the connection.
        with self.store.reachable("rate limiter") as client:
            return client.eval(script, len(keys), *keys, *args)  # type: ignore[arg-type]

    def try_call(self, now: datetime, per_minute: int = CALLS_PER_MINUTE) -> datetime | None:
        """Count one API call of this app; None if allowed, else when the budget has room.

        The budget holds over any 60 s, not only clock-minutes: the calls are logged in one
        sorted set (``rate:calls``, at most ``per_minute`` entries), as the per-person limits
        are."""
        millis = _millis(now)
        reply = self._eval(
            _CALL,
            [self.store.key("rate", "calls")],
            [millis, millis - MINUTE_MS, MINUTE_MS, per_minute, secrets.token_hex(6)],
        )
        return None if reply == 0 else _at_millis(int(reply))


class MediaError(Exception):
    """A stored image or file cannot be sent: no FileStore, or the file cannot be read."""


class MediaCache:
    """Stored images and files as WeCom temporary media: each is uploaded once and its media_id
    reused by every sender for ``MEDIA_REUSE`` (Redis, key ``media:<type>:<storage key>``)."""

    def __init__(self, store: RedisStore, files: FileStore | None) -> None:
        self.store = store
        self.files = files

    def _key(self, media_type: str, storage_key: str) -> str:
        return self.store.key("media", media_type, storage_key)

    def resolve(
        self, client: WeComClient, payload: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """``payload`` as WeCom takes it: a stored image or file becomes its media_id
        (uploaded now unless a media_id younger than MEDIA_REUSE is cached)."""
        found = stored_file(payload)
        if found is None:
            return payload
        storage_key, filename = found
        media_type = payload["msgtype"]
        key = self._key(media_type, storage_key)
        media_id = self._cached(key, now)
        if media_id:
            return {"msgtype": media_type, media_type: {"media_id": media_id}}
        if self.files is None:
            raise MediaError("this sender has no FileStore (STORAGE_DIR)")
        try:
            content = self.files.read(storage_key)
        except (OSError, ValueError) as exc:
            raise MediaError(
                f"stored file {storage_key} unreadable: {type(exc).__name__}"
            ) from None
        media_id = client.upload_media(
            media_type, filename or storage_key.rsplit("/", 1)[-1], content
        )
        with self.store.reachable("media cache") as redis_client:
            redis_client.set(
                key, f"{int(now.timestamp())} {media_id}", ex=int(MEDIA_REUSE.total_seconds())
            )
        return {"msgtype": media_type, media_type: {"media_id": media_id}}

    def _cached(self, key: str, now: datetime) -> str | None:
        with self.store.reachable("media cache") as client:
            value = client.get(key)
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        uploaded, _, media_id = text.partition(" ")
        if not uploaded.isdigit() or not media_id:
            return None
        fresh = now.timestamp() - int(uploaded) < MEDIA_REUSE.total_seconds()
        return media_id if fresh else None

    def forget(self, payload: dict[str, Any]) -> None:
        """Drop the cached media_id of ``payload`` (WeCom no longer knows it)."""
        found = stored_file(payload)
        if found is None:
            return
        try:
            with self.store.reachable("media cache") as client:
                client.delete(self._key(payload["msgtype"], found[0]))
        except RedisUnavailable:
            pass  # the next attempt meets 40007 again and forgets it then


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


def drain_once(
    database: Database,
    client: WeComClient,
    store: RedisStore,
    now: datetime,
    *,
    limit: int = CLAIM_LIMIT,
    on_dead: Callable[[list[OutboxMessage]], None] | None = None,
    alert: bool = True,
    files: FileStore | None = None,
) -> DrainReport:
    """Send what is due now (at most ``limit`` rows); returns what happened. New dead
    letters alert the administrators (``alert``) and are passed to ``on_dead``. Images and
    files are read from ``files`` (without it they fail and are retried)."""
    report = DrainReport()
    if store.down and not store.ping():
        return report  # hold everything: nothing is sent without the limiter
    media = MediaCache(store, files)
    rows = claim(database, now, limit)
    report.claimed = len(rows)
    limiter = RateLimiter(store)
    try:
        takes = limiter.try_take_many([r.userid for r in rows], now)
    except RedisUnavailable:
        _hold(database, rows, now, report)
        return report
    groups: dict[str, list[OutboxMessage]] = defaultdict(list)
    deferred: list[tuple[OutboxMessage, datetime]] = []
    for row, retry_at in zip(rows, takes, strict=True):
        if retry_at is None:
            groups[row.payload_hash].append(row)
        else:
            deferred.append((row, retry_at))
    batches = [
        group[start : start + MAX_RECIPIENTS_PER_CALL]
        for group in groups.values()
        for start in range(0, len(group), MAX_RECIPIENTS_PER_CALL)
    ]
    dead: list[OutboxMessage] = []
    for index, batch in enumerate(batches):
        try:
            retry_at = limiter.try_call(now)
            if retry_at is not None:  # the app's call budget for this minute is spent
                limiter.give_back(batch, now)
                deferred += [(row, retry_at) for row in batch]
                continue
            _send_batch(database, client, batch, now, report, dead, media)
        except RedisUnavailable:  # this batch and the rest were not sent
            _hold(database, [row for later in batches[index:] for row in later], now, report)
            break
    _defer(database, deferred)
    report.deferred = len(deferred)
    metrics.count_sends(store, report.answers)
    if dead and alert:
        alert_dead_letters(database, dead, now)
    if dead and on_dead is not None:
        on_dead(dead)
    return report


def _defer(database: Database, deferred: Sequence[tuple[OutboxMessage, datetime]]) -> None:
    """Back to pending until ``retry_at``; the claim's attempt is not counted."""
    if not deferred:
        return
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for row, retry_at in deferred:
        by_time[retry_at].append(row.id)
    with database.session() as session:
        for retry_at, ids in by_time.items():
            for chunk in _chunks(ids):
                session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id.in_(chunk))
                    .values(
                        status=OutboxStatus.PENDING,
                        available_at=retry_at,
                        attempts=OutboxMessage.attempts - 1,
                    )
                )


def _hold(
    database: Database, rows: Sequence[OutboxMessage], now: datetime, report: DrainReport
) -> None:
    """Put rows back unsent while Redis is unreachable: due again at once, the attempt not
    counted (the loop waits for Redis before the next claim)."""
    _defer(database, [(row, now) for row in rows])
    report.held += len(rows)


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _send_batch(
    database: Database,
    client: WeComClient,
    batch: list[OutboxMessage],
    now: datetime,
    report: DrainReport,
    dead: list[OutboxMessage],
    media: MediaCache,
) -> None:
    userids = [row.userid for row in batch]
    report.calls += 1
    invalid: set[str] = set()
    error: str | None = None
    permanent = False
    try:
        # the media cache and the access token are in Redis: RedisUnavailable leaves the
        # batch unsent (nothing went to WeCom) for the caller to hold
        with media.store.reachable("sender"):
            # rows are shaped when enqueued; shaping again covers rows stored before that
            # (a dead letter of an over-long text, queued again with outbox retry-dead)
            payload = limits.shape(media.resolve(client, _payload_for(database, batch), now))
            result = _call(client, userids, payload)
        invalid = set(result.invalid_users)
        answer = "0"
    except WeComAPIError as exc:
        answer = str(exc.errcode)
        if exc.errcode in MEDIA_EXPIRED_ERRORS:
            media.forget(batch[0].payload)
        if exc.errcode not in ALREADY_SENT_ERRORS:
            error = f"errcode {exc.errcode}: {exc.errmsg}"[:500]
            permanent = exc.errcode in PERMANENT_ERRORS
    except (WeComError, MediaError) as exc:
        answer = metrics.NO_ANSWER
        error = f"{type(exc).__name__}: {exc}"[:500]
    except limits.LimitError as exc:  # an old row with an id WeCom refuses: never sendable
        answer = metrics.NO_ANSWER
        error = f"LimitError: {exc}"[:500]
        permanent = True
    report.answers[answer] = report.answers.get(answer, 0) + 1  # mentorbot_sends_total
    if error:
        report.errors[error.split(":")[0]] = report.errors.get(error.split(":")[0], 0) + 1
    updates: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in batch:
        if error is None and row.userid not in invalid:
            updates[(OutboxStatus.SENT, None, None)].append(row.id)
            report.sent += 1
        elif error is None or permanent:
            updates[(OutboxStatus.FAILED, error or "invaliduser", None)].append(row.id)
            report.failed += 1
        elif row.attempts >= MAX_ATTEMPTS:
            updates[(OutboxStatus.DEAD, error, None)].append(row.id)
            row.status, row.last_error = OutboxStatus.DEAD, error
            report.dead += 1
            dead.append(row)
        else:
            backoff = 30 * 2 ** (row.attempts - 1)
            if error.startswith("errcode 45009"):  # frequency limit: at least a minute
                backoff = max(backoff, 60)
            updates[(OutboxStatus.PENDING, error, backoff)].append(row.id)
    with database.session() as session:
        for (status, last_error, backoff), ids in updates.items():
            values: dict[str, Any] = {"status": status}
            if status == OutboxStatus.SENT:
                values["sent_at"] = now
            else:
                values["last_error"] = last_error
            if backoff is not None:
                values["available_at"] = now + timedelta(seconds=backoff)
            for chunk in _chunks(ids):
                session.execute(
                    sa.update(OutboxMessage).where(OutboxMessage.id.in_(chunk)).values(**values)
                )


def _payload_for(database: Database, batch: list[OutboxMessage]) -> dict[str, Any]:
    """The payload to send to ``batch``. A card's task_id is single-use at WeCom, so a later
    call for more rows of the same card (recipients held back by the per-person limit, or
    beyond 1,000) gets a task_id of its own, derived from its first row: a crash-resend of the
    same call still meets 42014 (already sent) and is not doubled."""
    payload = batch[0].payload
    card = payload.get("template_card") if payload.get("msgtype") == "template_card" else None
    if not card or not card.get("task_id"):
        return payload
    first = min(row.id for row in batch)
    with database.session() as session:
        earlier = session.scalar(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.payload_hash == batch[0].payload_hash, OutboxMessage.id < first)
            .limit(1)
        )
    if earlier is None:
        return payload
    suffix = f"-r{first}"
    task_id = card["task_id"][: TASK_ID_BYTES - len(suffix)] + suffix
    return {**payload, "template_card": {**card, "task_id": task_id}}


def _call(client: WeComClient, userids: list[str], payload: dict) -> SendResult:  # type: ignore[type-arg]
    if payload["msgtype"] == "update_template_card":
        body = payload["update_template_card"]
        return client.update_template_card(
            userids,
            body["response_code"],
            body.get("template_card"),
            replace_name=body.get("button", {}).get("replace_name"),
        )
    return client.send(userids, payload, enable_duplicate_check=True)


def alert_dead_letters(database: Database, dead: Sequence[OutboxMessage], now: datetime) -> int:
    """Tell the system and academy administrators, once an hour at most, that messages
    became dead letters. Dead alerts are not alerted about (no loop). Returns rows added."""
    from bot.core.models import Role
    from bot.outbox.queue import Message, enqueue

    counted = [row for row in dead if not row.key.startswith(ALERT_PREFIX)]
    if not counted:
        log.error("outbox_alert_dead", count=len(dead))
        return 0
    errors = sorted({(row.last_error or "").split(":")[0] for row in counted} - {""})
    text = (
        f"【系统告警】有 {len(counted)} 条消息重试 {MAX_ATTEMPTS} 次仍发送失败，已停止重试"
        f"（错误：{'、'.join(errors) or '未知'}）。\n请系统管理员检查企业微信接口与网络后，"
        "在服务器上运行 flask --app bot outbox dead 查看，outbox retry-dead 重新发送。"
        "本小时内的其他失败不再重复告警。"
    )
    with database.session() as session:
        admins = holder_userids(session, Role.SYSTEM_ADMIN, Role.ACADEMY_ADMIN)
        added = enqueue(
            session,
            admins,
            Message.text(text),
            key=f"{ALERT_PREFIX}dead:{now.astimezone(UTC):%Y%m%d%H}",
            now=now,
        )
    log.error("outbox_dead_letters", count=len(counted), alerted=added)
    return added


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


def run_forever(
    database: Database,
    client: WeComClient,
    store: RedisStore,
    *,
    idle_seconds: float = 1.0,
    stop: threading.Event | None = None,
    files: FileStore | None = None,
) -> None:
    """The sender loop: drain, sleep while idle, until ``stop`` is set."""
    stop = stop or threading.Event()
    waiting = Backoff()
    while not stop.is_set():
        try:
            report = drain_once(database, client, store, datetime.now(UTC), files=files)
        except sa.exc.OperationalError:
            log.exception("sender_database_unavailable")
            report = DrainReport()
        if store.down:  # the outage is logged once by the store; sends wait for Redis
            stop.wait(waiting.next())
            continue
        waiting.reset()
        if report.claimed:
            log.info("outbox_drained", **{k: v for k, v in vars(report).items() if v})
        else:
            stop.wait(idle_seconds)


def run_sender_thread(app: Flask) -> threading.Thread:
    """For the demo: the sender in a thread of the web process (production runs it alone)."""
    from bot.wecom.app_client import get_client

    settings = app.extensions["settings"]
    thread = threading.Thread(
        target=run_forever,
        args=(app.extensions["database"], get_client(app), app.extensions["redis"]),
        kwargs={"files": FileStore.from_settings(settings, app.instance_path)},
        name="outbox-sender",
        daemon=True,
    )
    thread.start()
    time.sleep(0)
    return thread
