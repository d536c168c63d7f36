"""Closing sent cards: the send-time response_code updates a card for those who did not answer.

message/send answers an interactive card (buttons, vote, select) with a ``response_code``; the
sender keeps it on each row of the call (``OutboxMessage.response_code``). WeCom accepts it
once, for any of that call's recipients, within 72 hours of the send (update_template_card,
doc 94888). :func:`close_cards` queues, for each code, one update of every named recipient's
card, through the outbox like any push. A card sent longer ago than that cannot be updated and
is left as it is (a later tap is still refused, and that tap's own code updates its card).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import OutboxMessage, OutboxStatus
from bot.outbox import queue as outbox
from bot.outbox.queue import Message

RESPONSE_CODE_LIFETIME = timedelta(hours=72)  # doc 94888: "response_code的有效期是72小时"
# the update is queued, then sent: a code this close to its end is not spent any more
SEND_MARGIN = timedelta(minutes=30)
CLOSED = "已截止"


def updatable_since(now: datetime) -> datetime:
    """Cards sent at or after this moment can still be updated by their send-time code."""
    return now - RESPONSE_CODE_LIFETIME + SEND_MARGIN


def close_cards(
    session: so.Session, row_keys: Iterable[str], *, now: datetime, replace_name: str = CLOSED
) -> int:
    """Replace the buttons of the cards sent as the outbox rows ``row_keys`` (each the key a
    row was enqueued with plus ``:userid``) with ``replace_name``: one update per send-time
    code, for the rows sent with it. Rows sent too long ago, without a code, or not sent are
    left. Returns how many cards were queued for an update (a second run adds nothing)."""
    keys = list(dict.fromkeys(row_keys))
    by_code: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(keys), 1000):
        rows = session.execute(
            sa.select(OutboxMessage.response_code, OutboxMessage.userid).where(
                OutboxMessage.key.in_(keys[start : start + 1000]),
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.response_code.is_not(None),
                OutboxMessage.sent_at >= updatable_since(now),
            )
        )
        for code, userid in rows:
            by_code[code].append(userid)
    queued = 0
    for code, userids in by_code.items():
        body = {"response_code": code, "button": {"replace_name": replace_name}}
        digest = hashlib.sha256(code.encode()).hexdigest()[:32]
        queued += outbox.enqueue(
            session,
            sorted(userids),
            Message("update_template_card", body),
            key=f"card-close:{digest}",
            now=now,
        )
    return queued
