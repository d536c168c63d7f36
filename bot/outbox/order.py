"""Each person's messages arrive in the order they were queued.

A row held back for its person (WeCom's per-person limit, or the app's call budget) must not be
overtaken by a later row for the same person: a reply held by the limit would otherwise arrive
after the next card. Rows are identified with their person by the folded userid (WeCom's ids
are case-insensitive); "earlier" is the lower row id (the queue's order). No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.models import OutboxMessage
from bot.roster.userids import fold

# written as last_error on a row the sender put back for its person (and kept when it is sent)
HELD = "held: 每人发送上限或调用额度已满，按顺序稍后发送"
UPDATE = "update_template_card"


def person(row: OutboxMessage) -> str:
    return fold(row.userid)


def by_queue_order(rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The rows in the order they were queued (a claim puts urgent rows first)."""
    return sorted(rows, key=lambda row: row.id)


def keep_order(
    rows: Sequence[OutboxMessage],
    takes: Sequence[datetime | None],
    held_since: dict[str, tuple[int, datetime]],
) -> tuple[list[OutboxMessage], list[tuple[OutboxMessage, datetime]], list[OutboxMessage]]:
    """Split rows (in queue order, with the limiter's answer for each: None = taken, else when
    to retry) into those to send now, those to put back (with when), and those whose taken
    place in the limit must be given back because an earlier row of their person waits.
    ``held_since``: per person, the first row already waiting outside this claim and when it
    is due."""
    stopped: dict[str, tuple[int, datetime]] = dict(held_since)
    send: list[OutboxMessage] = []
    deferred: list[tuple[OutboxMessage, datetime]] = []
    give_back: list[OutboxMessage] = []
    for row, retry_at in zip(rows, takes, strict=True):
        waiting = stopped.get(person(row))
        if waiting is not None and waiting[0] < row.id:
            if retry_at is None:
                give_back.append(row)
            deferred.append((row, max(waiting[1], retry_at or waiting[1])))
        elif retry_at is None:
            send.append(row)
        else:
            deferred.append((row, retry_at))
            stopped.setdefault(person(row), (row.id, retry_at))
    return send, deferred, give_back


def waves(rows: Sequence[OutboxMessage]) -> list[int]:
    """For each row (in queue order), how many rows of its person come before it in ``rows``:
    rows of one wave may go out in any order and together; wave n+1 after wave n."""
    seen: dict[str, int] = {}
    numbers = []
    for row in rows:
        numbers.append(seen.get(person(row), 0))
        seen[person(row)] = numbers[-1] + 1
    return numbers


def together(
    rows: Sequence[OutboxMessage],
    takes: Sequence[datetime | None],
    send: Sequence[OutboxMessage],
    deferred: Sequence[tuple[OutboxMessage, datetime]],
) -> list[datetime | None]:
    """Card updates with one response_code (the same payload) go out in one call or not at
    all: WeCom takes the code once, so a part sent while another part waits would leave the
    waiting cards as they are. Where ``keep_order`` split such a group, every row of it waits
    until the latest of its times: the limiter's answers (``takes``) with those rows changed."""
    sending = {row.payload_hash for row in send if row.msgtype == UPDATE}
    until: dict[str, datetime] = {}
    for row, retry_at in deferred:
        if row.msgtype == UPDATE and row.payload_hash in sending:
            until[row.payload_hash] = max(until.get(row.payload_hash, retry_at), retry_at)
    return [
        until[row.payload_hash] if row.msgtype == UPDATE and row.payload_hash in until else take
        for row, take in zip(rows, takes, strict=True)
    ]


def update_waves(rows: Sequence[OutboxMessage], numbers: Sequence[int]) -> list[int]:
    """``numbers`` (from :func:`waves`) with each group of card updates sharing a payload moved
    to the latest wave of its rows, so the group goes in one call after every earlier row of
    each of its people."""
    latest: dict[str, int] = {}
    for row, number in zip(rows, numbers, strict=True):
        if row.msgtype == UPDATE:
            latest[row.payload_hash] = max(latest.get(row.payload_hash, number), number)
    return [
        latest[row.payload_hash] if row.msgtype == UPDATE else number
        for row, number in zip(rows, numbers, strict=True)
    ]
