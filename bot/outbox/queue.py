"""The durable outbox: every push is a row written in the transaction that causes it.

``enqueue`` adds one row per recipient; a key unique per campaign, person and period makes a
second enqueue of the same message a no-op. The sender (``drain_once``) claims due rows, sends
identical messages together (up to 1,000 recipients a call) and records the outcome.

Images and files are enqueued like any message, but a row never carries their bytes: the
content is saved in the FileStore first and the row holds its storage key and file name
(:meth:`Message.image`, :meth:`Message.file`). The sender uploads the stored file as WeCom
temporary media when it sends the row (once per storage key, the media_id cached in Redis).

Every row is within WeCom's size limits when it is written: ``enqueue`` shapes the payload
(:func:`bot.wecom.limits.shape`: texts cut at a character boundary with "…"), so no message
fails at WeCom for its size. An id or link of ours that is too long raises ``LimitError``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import InsertIgnoringConflicts
from bot.core.models import OutboxMessage, OutboxStatus
from bot.wecom import limits

MAX_RECIPIENTS_PER_CALL = 1000
STORED_MEDIA_TYPES = ("image", "file")  # sent from the FileStore, uploaded by the sender


@dataclass(frozen=True)
class Message:
    """A WeCom message body without ``touser`` and ``agentid``: ``{"msgtype": …, type: {…}}``."""

    msgtype: str
    content: dict[str, Any] = field(hash=False)

    @classmethod
    def text(cls, content: str) -> Message:
        return cls("text", {"content": content})

    @classmethod
    def markdown(cls, content: str) -> Message:
        return cls("markdown", {"content": content})

    @classmethod
    def template_card(cls, card: dict[str, Any]) -> Message:
        return cls("template_card", card)

    @classmethod
    def textcard(cls, title: str, description: str, url: str, btntxt: str = "详情") -> Message:
        """A text card (文本卡片) whose tap opens ``url``: what people who read WeCom through
        WeChat (微信插件) see, where template cards do not show."""
        body = {"title": title, "description": description, "url": url}
        if btntxt:
            body["btntxt"] = btntxt
        return cls("textcard", body)

    @classmethod
    def image(cls, storage_key: str, filename: str) -> Message:
        """A JPG or PNG (at most 10 MB) already saved in the FileStore under ``storage_key``."""
        return cls("image", {"storage_key": storage_key, "filename": filename})

    @classmethod
    def file(cls, storage_key: str, filename: str) -> Message:
        """A file (at most 20 MB) already saved in the FileStore; ``filename`` is what the
        person sees."""
        return cls("file", {"storage_key": storage_key, "filename": filename})

    def payload(self) -> dict[str, Any]:
        """The body as WeCom takes it, within its size limits (too-long texts cut)."""
        return limits.shape({"msgtype": self.msgtype, self.msgtype: self.content})

    def digest(self) -> str:
        return _digest(self.payload())


def _digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_file(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(storage key, file name) if ``payload`` is an image or file kept in the FileStore."""
    msgtype = payload.get("msgtype")
    body = payload.get(msgtype) if msgtype in STORED_MEDIA_TYPES else None
    if not isinstance(body, dict) or not isinstance(body.get("storage_key"), str):
        return None
    return body["storage_key"], str(body.get("filename") or "")


def enqueue(
    session: so.Session,
    userids: Iterable[str],
    message: Message,
    *,
    key: str,
    now: datetime,
    available_at: datetime | None = None,
    urgent: bool = True,
) -> int:
    """Add ``message`` for each of ``userids`` unless a row with the same key exists.

    Returns how many rows were added. Nothing is sent until the transaction commits. The
    stored payload is already within WeCom's size limits; an id or link of ours that is too
    long raises :class:`bot.wecom.limits.LimitError` here, before anything is stored.
    """
    payload = message.payload()
    digest = _digest(payload)
    rows = [
        {
            "key": f"{key}:{userid}",
            "userid": userid,
            "msgtype": message.msgtype,
            "payload": payload,
            "payload_hash": digest,
            "urgent": urgent,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "available_at": available_at or now,
        }
        for userid in dict.fromkeys(userids)
    ]
    if not rows:
        return 0
    return len(_INSERT_ROWS.execute(session, rows).all())


# a reply is enqueued on most callbacks: a Core insert on the table, built once and run on
# the session's connection in its transaction, without the ORM's bulk-insert layer
_INSERT_ROWS = InsertIgnoringConflicts(OutboxMessage.__table__, "key")


def pending_for(session: so.Session, userid: str) -> list[OutboxMessage]:
    """Rows not yet sent to ``userid``, oldest first (tests and the operator view)."""
    return list(
        session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.userid == userid, OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
        )
    )
