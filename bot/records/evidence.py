"""Photos as evidence: attached in the callback with only the media id (pending), fetched
from WeCom's media API afterwards by ``fetch_pending_evidence`` (media ids expire after 3 days).
The callback never downloads anything."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.core.db import Database
from bot.core.models import EvidenceFile, EvidenceStatus, Person, Record
from bot.core.redis_store import REDIS_ERRORS, RedisUnavailable
from bot.core.storage import FileStore, StorageError
from bot.wecom.errors import WeComAPIError

log = structlog.get_logger("bot.records.evidence")

PHOTO = "photo"
MEDIA_LIFETIME = timedelta(days=3)
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}
BATCH = 50


class Media(Protocol):
    content: bytes
    content_type: str
    filename: str


class MediaClient(Protocol):
    def download_media(self, media_id: str) -> Media: ...


def attach_photo(
    session: so.Session, record: Record, media_id: str, *, owner: Person, now: datetime
) -> EvidenceFile:
    """A pending photo for ``record``; the file itself is fetched later."""
    photo = EvidenceFile(
        owner_id=owner.id,
        record_id=record.id,
        purpose=PHOTO,
        media_id=media_id,
        status=EvidenceStatus.PENDING,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    return photo


@dataclass
class FetchReport:
    stored: int = 0
    failed: int = 0


def fetch_pending_evidence(
    database: Database, client: MediaClient, store: FileStore, now: datetime
) -> FetchReport:
    """Download every pending photo, store it by content in ``store``, mark it.

    The photo is marked stored in the transaction that commits after the file is stored. If
    the store fails, the photo stays pending and this pass ends (the next one tries again);
    while Redis is unreachable the pass ends with ``RedisUnavailable``, every photo pending."""
    report = FetchReport()
    with database.session() as session:
        ids = list(
            session.scalars(
                sa.select(EvidenceFile.id)
                .where(
                    EvidenceFile.status == EvidenceStatus.PENDING,
                    EvidenceFile.media_id.is_not(None),
                )
                .order_by(EvidenceFile.id)
                .limit(BATCH * 20)
            )
        )
    for evidence_id in ids:
        try:
            with database.session() as session:
                photo = session.get(
                    EvidenceFile, evidence_id, with_for_update={"skip_locked": True}
                )
                if (
                    photo is None
                    or photo.status != EvidenceStatus.PENDING
                    or photo.media_id is None
                ):
                    continue
                if _fetch_one(photo, client, store, now):
                    report.stored += 1
                else:
                    report.failed += 1
        except StorageError:  # logged by the store; the photo stays pending
            log.warning("evidence_store_unavailable", evidence_id=evidence_id)
            report.failed += 1
            break
    return report


def _fetch_one(photo: EvidenceFile, client: MediaClient, store: FileStore, now: datetime) -> bool:
    try:
        media = client.download_media(photo.media_id or "")
    except REDIS_ERRORS as exc:  # the access token is in Redis: the photo waits for it
        raise RedisUnavailable("media worker") from exc
    except Exception as exc:  # refused (bad or expired media id) or unreachable
        refused = isinstance(exc, WeComAPIError)
        expired = refused or now - photo.created_at >= MEDIA_LIFETIME
        log.warning(
            "evidence_fetch_failed",
            evidence_id=photo.id,
            error=type(exc).__name__,
            final=expired,
        )
        if expired:
            photo.status = EvidenceStatus.FAILED
        return False
    suffix = IMAGE_TYPES.get(media.content_type) or (
        mimetypes.guess_extension(media.content_type or "") or ".bin"
    )
    stored = store.put(media.content, suffix, now)
    photo.storage_key = stored.key
    photo.sha256 = stored.sha256
    photo.size = stored.size
    photo.content_type = media.content_type
    photo.filename = media.filename[:255] if media.filename else None
    photo.status = EvidenceStatus.STORED
    log.info("evidence_stored", evidence_id=photo.id, size=stored.size)
    return True
