"""The outbox sender: claims due rows, sends identical messages together, records outcomes.

Several senders may run at once, each claiming rows as a lease (:mod:`bot.outbox.lease`); rows of
a sender that crashed are sent again after the lease, at most once more. WeCom's
``enable_duplicate_check`` drops identical content to the same person within an interval, also
content that is meant to repeat (a second ``帮助`` within the interval would never arrive), so it
is asked for only where a resend of the same row is the risk: on a row's second and later
attempts (a crash-resend after the lease, a retry after an answer lost to a timeout), with
``DUPLICATE_CHECK_INTERVAL`` (two leases). A row's first attempt is sent without it. Per-person
limits and the app's call budget are kept in Redis (:mod:`bot.outbox.ratelimit`). Each person's
rows go out in the order queued (:mod:`bot.outbox.order`): the limit is taken in that order, a
row held by the limit or the call budget holds that person's later rows (also in later passes:
it is marked ``order.HELD``), and a person's second row of a pass goes in a later call.

A card's task_id is single-use at WeCom, and 42014 answers both a reused and an empty,
over-long or malformed one: the task_id is written on the rows before the call, and a 42014
counts as "already sent" only for a row whose own earlier attempt carried that task_id. A card
update (update_template_card) whose response_code has expired or was used fails quietly: the
card can no longer be updated, which is nothing to retry or alert about. The code is single-use,
so the rows of one update are never split: where one of them must wait, all of them wait.

Memory stays flat however long the queue: each pass claims at most ``limit`` rows and marks
outcomes with a few set-based UPDATEs. The administrators are told (:mod:`bot.outbox.alerts`)
when a message keeps failing until it becomes a dead letter, when a card meets 42014 of
someone else's making, and when WeCom cannot reach people (invaliduser, 81013: usually the
app's visible range); an alert that itself fails alerts nobody, so there is no loop.

Images and files are sent as WeCom temporary media uploaded once (:mod:`bot.outbox.media`).

Nothing is sent over WeCom's size limits: rows are shaped when enqueued
(:func:`bot.wecom.limits.shape`) and again here, for rows stored before that; an old row with an
id too long for WeCom fails at once rather than being retried.

The limiter, the media cache and the access token live in Redis, so while Redis is unreachable
nothing is sent: rows are held (back to pending, the attempt not counted) rather than sent
without the per-person limits, and the loop waits with backoff until Redis answers again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.core.db import Database
from bot.core.models import OutboxMessage, OutboxStatus
from bot.core.redis_store import RedisStore, RedisUnavailable
from bot.core.storage import FileStore
from bot.ops import metrics
from bot.outbox import order
from bot.outbox.alerts import Trouble, alert_administrators
from bot.outbox.lease import LEASE, MAX_ATTEMPTS, chunks, claim, defer, held_before
from bot.outbox.media import MEDIA_EXPIRED_ERRORS, MediaCache, MediaError
from bot.outbox.queue import MAX_RECIPIENTS_PER_CALL
from bot.outbox.ratelimit import RateLimiter
from bot.roster.userids import fold, folded
from bot.wecom import limits
from bot.wecom.client import SendResult, WeComClient
from bot.wecom.errors import WeComAPIError, WeComError

CLAIM_LIMIT = 2000
TASK_ID_BYTES = 128
PERMANENT_ERRORS = frozenset({81013, 60020, 40003})  # nobody reachable / IP not trusted
# task_id used, or empty, over-long or badly formed: "already sent" only for a row whose own
# earlier attempt carried this very task_id (written on the row before the call)
TASK_ID_ERRORS = frozenset({42014})
# a resend meets its first attempt within two leases (crash-resend, first retries after a timeout)
DUPLICATE_CHECK_INTERVAL = int(2 * LEASE.total_seconds())
# update_template_card with a response_code WeCom no longer takes: the card cannot be updated
# any more, so there is nothing left to do (no retry, no dead letter, no alert). A code is
# single-use and lives 72 hours (doc 94888); an update that waited past that, or a resend of one
# that went through (its answer lost), meets this. (The rows of one update wait and go together:
# order.together.) WeCom's global error codes (doc 90313) list
# 60140 "无效的response_code" ("可能是response_code已经过期") and 42022 "code已经被使用过。
# 只能使用一次"; the documentation does not say which of them a used response_code gets
# (42022 is not confirmed for response_code), so an update row takes both as "nothing to do".
SPENT_RESPONSE_CODE_ERRORS = frozenset({60140, 42022})
SPENT = "response_code spent"


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
    lapsed: int = 0  # card updates whose response_code had expired or was used: nothing to do


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
    # each person's rows in the order queued: the limit is taken in that order, and a row
    # never overtakes an earlier one of its person that is held (:mod:`bot.outbox.order`)
    queued = order.by_queue_order(rows)
    try:
        takes: list[datetime | None] = list(limiter.try_take_many([r.userid for r in queued], now))
        held = held_before(database, queued, now, order.HELD)
        while True:
            rows_to_send, deferred, unused = order.keep_order(queued, takes, held)
            # card updates sharing a response_code wait together (the code is single-use)
            joined = order.together(queued, takes, rows_to_send, deferred)
            if joined == takes:
                break
            limiter.give_back(
                [
                    row
                    for row, old, new in zip(queued, takes, joined, strict=True)
                    if old != new and old is None
                ],
                now,
            )
            takes = joined
        limiter.give_back(unused, now)
    except RedisUnavailable:
        _hold(database, rows, now, report)
        return report
    # identical messages go together; a row's first attempt apart from resends, which ask
    # WeCom's duplicate check (see the module's docstring); a person's second row goes in a
    # later wave than their first. Within a wave, urgent rows first (the claim's order).
    sending = {row.id for row in rows_to_send}
    numbers = order.update_waves(rows_to_send, order.waves(rows_to_send))
    wave_of = dict(zip((r.id for r in rows_to_send), numbers, strict=True))
    groups: dict[tuple[int, str, bool], list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if row.id in sending:  # an update asks no duplicate check: its group stays whole
            resend = _is_resend(row) and row.msgtype != order.UPDATE
            groups[(wave_of[row.id], row.payload_hash, resend)].append(row)
    batches = [
        group[start : start + MAX_RECIPIENTS_PER_CALL]
        for _, group in sorted(groups.items(), key=lambda item: item[0][0])
        for start in range(0, len(group), MAX_RECIPIENTS_PER_CALL)
    ]
    trouble = Trouble()
    waiting: dict[str, datetime] = {}  # people whose earlier row waits for the call budget
    for index, batch in enumerate(batches):
        try:
            later = [row for row in batch if order.person(row) in waiting]
            if later and batch[0].msgtype == order.UPDATE:
                later = batch  # one response_code: the whole update waits or none of it
            if later:  # an earlier row of theirs was put back in this pass: these wait too
                limiter.give_back(later, now)
                deferred += [(row, waiting[order.person(row)]) for row in later]
                batch = [row for row in batch if order.person(row) not in waiting]
                if not batch:
                    continue
            retry_at = limiter.try_call(now)
            if retry_at is not None:  # the app's call budget for this minute is spent
                limiter.give_back(batch, now)
                deferred += [(row, retry_at) for row in batch]
                waiting.update((order.person(row), retry_at) for row in batch)
                continue
            _send_batch(database, client, batch, now, report, trouble, media)
        except RedisUnavailable:  # this batch and the rest were not sent
            _hold(database, [row for later in batches[index:] for row in later], now, report)
            break
    defer(database, deferred, reason=order.HELD)
    report.deferred = len(deferred)
    metrics.count_sends(store, report.answers)
    metrics.count_unreachable(store, _reasons(trouble.unreachable))
    if alert:
        alert_administrators(database, trouble, now)
    if trouble.dead and on_dead is not None:
        on_dead(trouble.dead)
    return report


def _reasons(rows: Sequence[OutboxMessage]) -> dict[str, int]:
    """Unreachable recipients by WeCom's reason (invaliduser, 81013)."""
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        reason = "81013" if (row.last_error or "").startswith("errcode 81013") else "invaliduser"
        reasons[reason] += 1
    return reasons


def _is_resend(row: OutboxMessage) -> bool:
    """Whether an earlier attempt of ``row`` may have reached WeCom (the claim counted one)."""
    return row.attempts > 1


def _hold(
    database: Database, rows: Sequence[OutboxMessage], now: datetime, report: DrainReport
) -> None:
    """Put rows back unsent while Redis is unreachable: due again at once, the attempt not
    counted (the loop waits for Redis before the next claim)."""
    defer(database, [(row, now) for row in rows])
    report.held += len(rows)


def _send_batch(
    database: Database,
    client: WeComClient,
    batch: list[OutboxMessage],
    now: datetime,
    report: DrainReport,
    trouble: Trouble,
    media: MediaCache,
) -> None:
    userids = [row.userid for row in batch]
    report.calls += 1
    invalid: set[str] = set()
    error: str | None = None
    permanent = False
    spent = False  # an update whose response_code WeCom no longer takes: nothing to do
    delivered_before: set[int] = set()  # rows whose card went out with this task_id before
    response_code = ""  # an interactive card's, kept to close the card at its deadline
    try:
        # the media cache and the access token are in Redis: RedisUnavailable leaves the
        # batch unsent (nothing went to WeCom) for the caller to hold
        with media.store.reachable("sender"):
            # rows are shaped when enqueued; shaping again covers rows stored before that
            # (a dead letter of an over-long text, queued again with outbox retry-dead)
            payload = limits.shape(media.resolve(client, _payload_for(database, batch), now))
            task_id = _task_id(payload)
            if task_id:
                delivered_before = {row.id for row in batch if row.task_id == task_id}
                _offer(database, batch, task_id)
            result = _call(client, userids, payload, resend=_is_resend(batch[0]))
        invalid = folded(result.invalid_users)  # WeCom answers them lower-cased
        if payload.get("msgtype") == "template_card":
            response_code = result.response_code
        answer = "0"
    except WeComAPIError as exc:
        answer = str(exc.errcode)
        if exc.errcode in MEDIA_EXPIRED_ERRORS:
            media.forget(batch[0].payload)
        error = f"errcode {exc.errcode}: {exc.errmsg}"[:500]
        permanent = exc.errcode in PERMANENT_ERRORS or exc.errcode in TASK_ID_ERRORS
        spent = (
            exc.errcode in SPENT_RESPONSE_CODE_ERRORS and batch[0].msgtype == "update_template_card"
        )
        if spent:
            error = f"{SPENT}: errcode {exc.errcode}: {exc.errmsg}"[:500]
        if exc.errcode not in TASK_ID_ERRORS:
            delivered_before = set()
    except (WeComError, MediaError) as exc:
        answer = metrics.NO_ANSWER
        error = f"{type(exc).__name__}: {exc}"[:500]
    except limits.LimitError as exc:  # an old row with an id WeCom refuses: never sendable
        answer = metrics.NO_ANSWER
        error = f"LimitError: {exc}"[:500]
        permanent = True
    report.answers[answer] = report.answers.get(answer, 0) + 1  # mentorbot_sends_total
    if error and not spent and len(delivered_before) < len(batch):
        report.errors[error.split(":")[0]] = report.errors.get(error.split(":")[0], 0) + 1
    updates: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in batch:
        if (error is None and fold(row.userid) not in invalid) or row.id in delivered_before:
            updates[(OutboxStatus.SENT, None, None)].append(row.id)
            report.sent += 1
        elif spent:  # final, alerting nobody: the card stays as it is
            updates[(OutboxStatus.FAILED, error, None)].append(row.id)
            report.lapsed += 1
        elif error is None or permanent:
            updates[(OutboxStatus.FAILED, error or "invaliduser", None)].append(row.id)
            row.status, row.last_error = OutboxStatus.FAILED, error or "invaliduser"
            report.failed += 1
            trouble.failed(row)
        elif row.attempts >= MAX_ATTEMPTS:
            updates[(OutboxStatus.DEAD, error, None)].append(row.id)
            row.status, row.last_error = OutboxStatus.DEAD, error
            report.dead += 1
            trouble.dead.append(row)
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
                if response_code:
                    values["response_code"] = response_code
            else:
                values["last_error"] = last_error
            if backoff is not None:
                values["available_at"] = now + timedelta(seconds=backoff)
            for chunk in chunks(ids):
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


def _task_id(payload: dict[str, Any]) -> str:
    """The task_id of a template card ("" for anything else)."""
    if payload.get("msgtype") != "template_card":
        return ""
    return str(payload["template_card"].get("task_id") or "")


def _offer(database: Database, batch: list[OutboxMessage], task_id: str) -> None:
    """Write on the rows, before the call, the task_id they are offered with (its own
    transaction: a crash during the call leaves it for the resend to see)."""
    with database.session() as session:
        for ids in chunks([row.id for row in batch]):
            session.execute(
                sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(task_id=task_id)
            )


def _call(
    client: WeComClient, userids: list[str], payload: dict[str, Any], *, resend: bool
) -> SendResult:
    if payload["msgtype"] == "update_template_card":
        body = payload["update_template_card"]
        return client.update_template_card(
            userids,
            body["response_code"],
            body.get("template_card"),
            replace_name=body.get("button", {}).get("replace_name"),
        )
    if not resend:
        return client.send(userids, payload)
    return client.send(
        userids,
        payload,
        enable_duplicate_check=True,
        duplicate_check_interval=DUPLICATE_CHECK_INTERVAL,
    )
