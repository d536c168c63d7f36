"""Stored images and files as WeCom temporary media, uploaded once and shared by every sender.

Images and files (``Message.image`` / ``Message.file``) wait in the outbox as a storage key:
sending one uploads the stored file as WeCom temporary media (valid 3 days) and sends its
media_id. The media_id is kept in Redis for ``MEDIA_REUSE`` (less than the 3 days) and shared by
every sender, so a campaign's later calls, a retry or a crash-resend reuse it: a file is uploaded
once, and a resend is identical, so the duplicate check still holds. An upload that fails, or a
stored file that cannot be read, fails the call like any other error (backoff, dead letter).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.redis_store import RedisStore, RedisUnavailable
from bot.core.storage import FileStore
from bot.outbox.queue import stored_file
from bot.wecom.client import WeComClient

MEDIA_REUSE = timedelta(days=2)  # WeCom keeps temporary media 3 days
MEDIA_EXPIRED_ERRORS = frozenset({40007})  # invalid media_id: upload again on the next attempt


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
