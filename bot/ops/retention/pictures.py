"""Stored progress pictures and charts past retention.

The 我的 progress picture (``handlers.progress``) and the college heads' charts
(``bot.cycle.publication.college_chart``) are PNGs saved in the file store only to be sent: the
outbox message that sends one names its key, nothing else does, and that message is pruned
``OUTBOX_KEEP_DAYS`` after its last attempt. They show aggregates of a year's records and
results.

The rules set no period for such derived files, so they keep the one of the records they are
drawn from: ``RETENTION_YEARS`` after the year's cycle closed; they go with the expired years
of :func:`bot.ops.retention.purge.purge`. A stored file's only date is the month in its key
(``YYYY/MM/<sha256>.png``, the month it was first stored), so the rule is applied on the safe
side: a PNG goes when its month is before the last month of the newest academic year that has
expired together with every year before it. Whatever was stored then was drawn from those
years (a progress picture from the year it was drawn in, a chart from a cycle already open),
so nothing goes before its year has expired; a year's last month and the charts of its
publication and closing (stored after the year ended) go with the following year. A year
whose cycle never closed holds the later years' pictures back, as it keeps its own records.

Never deleted here: a file an evidence row names (photos and uploads are evidence, purged with
their records) and a file a pending or sending message has still to send (the current
picture). A finished message naming a deleted file is deleted with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AcademicYear, EvidenceFile, OutboxMessage, OutboxStatus
from bot.core.storage import FileStore
from bot.outbox.queue import STORED_MEDIA_TYPES, stored_file

PICTURE_SUFFIX = ".png"
#: the keys ``FileStore.put`` gives a PNG: the month it was stored, then its sha256
PICTURE_KEY = re.compile(r"(\d{4})/(0[1-9]|1[0-2])/[0-9a-f]{64}\.png")
#: a message in one of these states may still be sent: its file is in use
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)
DELETE_BATCH = 500


@dataclass(frozen=True)
class ExpiredPictures:
    """Stored pictures and charts to delete, and the finished messages that sent them."""

    keys: list[str] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)


def kept_from(session: so.Session, expired: Sequence[AcademicYear]) -> date | None:
    """The first day of the month from which stored pictures are kept: the last month of
    the newest year that expired together with every year before it; None if the oldest year
    has not expired (then none goes)."""
    expired_ids = {year.id for year in expired}
    newest = None
    for year in session.scalars(sa.select(AcademicYear).order_by(AcademicYear.starts_on)):
        if year.id not in expired_ids:
            break
        newest = year
    return None if newest is None else newest.ends_on.replace(day=1)


def stored_before(key: str, day: date) -> bool:
    """Whether ``key`` is a stored PNG of a month before the one of ``day``."""
    found = PICTURE_KEY.fullmatch(key)
    return found is not None and date(int(found[1]), int(found[2]), 1) < day.replace(day=1)


def expired_pictures(
    session: so.Session, store: FileStore, expired: Sequence[AcademicYear]
) -> ExpiredPictures:
    """The pictures and charts of ``expired`` years still in ``store`` (lists the store; changes
    nothing)."""
    day = kept_from(session, expired)
    if day is None:
        return ExpiredPictures()
    every = store.keys()  # FileStore's listing (an iterator), not a mapping's keys
    old = {key for key in every if stored_before(key, day)}
    if not old:
        return ExpiredPictures()
    evidence = set(
        session.scalars(
            sa.select(EvidenceFile.storage_key).where(
                EvidenceFile.storage_key.endswith(PICTURE_SUFFIX)
            )
        )
    )
    in_use: set[str] = set()
    sent: list[tuple[int, str]] = []
    rows = session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload).where(
            OutboxMessage.msgtype.in_(STORED_MEDIA_TYPES)
        )
    )
    for message_id, status, payload in rows:
        found = stored_file(payload)
        if found is None or found[0] not in old:
            continue
        if status in UNSENT:
            in_use.add(found[0])
        else:
            sent.append((message_id, found[0]))
    keys = old - evidence - in_use
    return ExpiredPictures(
        sorted(keys), sorted(message_id for message_id, key in sent if key in keys)
    )


def delete_messages(session: so.Session, pictures: ExpiredPictures) -> None:
    """Delete the finished messages that sent ``pictures`` (one still unsent is left)."""
    for start in range(0, len(pictures.messages), DELETE_BATCH):
        batch = pictures.messages[start : start + DELETE_BATCH]
        session.execute(
            sa.delete(OutboxMessage)
            .where(OutboxMessage.id.in_(batch), OutboxMessage.status.not_in(UNSENT))
            .execution_options(synchronize_session=False)
        )


def delete_files(store: FileStore, pictures: ExpiredPictures) -> None:
    """Delete the stored files of ``pictures`` (a file already gone is no error)."""
    for key in pictures.keys:
        store.delete(key)
