"""Care notes (关爱记录) are sensitive: encrypted at rest, read only by the people the
regulation names, and every read (or refused read) is written to the audit log.

A note is never pushed: the chat answers 查看 with a link to the in-app page
(:func:`care_page_url`, ``bot.pages.care``), and only that page decrypts it. A note on its way
through a guided flow is kept in Redis sealed with the same key (:func:`seal`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from cryptography.fernet import Fernet, InvalidToken

from bot.core.models import AuditEntry, MentorAssignment, Person, Record, RecordKind, Role


class CareNoteRefused(PermissionError):
    """The reader may not read this care note."""


def encrypt_note(key: str, text: str) -> bytes:
    return Fernet(key.encode("ascii")).encrypt(text.encode("utf-8"))


def decrypt_note(key: str, token: bytes) -> str:
    try:
        return Fernet(key.encode("ascii")).decrypt(token).decode("utf-8")
    except InvalidToken:
        raise ValueError("care note cannot be decrypted with CARE_NOTES_KEY") from None


def seal(key: str, text: str) -> str:
    """``text`` encrypted as ASCII, for conversation state (Redis) that must not hold it."""
    return encrypt_note(key, text).decode("ascii")


def unseal(key: str, sealed: str) -> str:
    return decrypt_note(key, sealed.encode("ascii"))


def care_page_url(base_url: str, record_id: int) -> str:
    """The in-app page that shows the note to its readers after WeCom sign-in."""
    return f"{base_url}/m/care/{record_id}"


def assessing_college_id(session: so.Session, record: Record) -> int | None:
    return session.scalar(
        sa.select(MentorAssignment.college_id).where(
            MentorAssignment.mentor_id == record.mentor_id,
            MentorAssignment.year_id == record.year_id,
        )
    )


def may_read(session: so.Session, reader: Person, record: Record) -> bool:
    """The author, the assessing college's administrators and the academy office."""
    if reader.id == record.mentor_id or reader.has_role(Role.ACADEMY_ADMIN):
        return True
    college_id = assessing_college_id(session, record)
    return college_id is not None and reader.has_role(Role.COLLEGE_ADMIN, college_id)


def audit_read(
    session: so.Session, reader: Person, record: Record, *, allowed: bool, now: datetime
) -> None:
    """One audit entry for one attempt to read ``record``'s note."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=reader.id,
            action="read" if allowed else "read_refused",
            entity="care_note",
            entity_id=str(record.id),
            before=None,
            after=None,
        )
    )


def read_care_note(
    session: so.Session, reader: Person, record: Record, *, key: str, now: datetime
) -> str | None:
    """The note's text for ``reader`` (None if the record has none, e.g. after retention);
    audited either way; CareNoteRefused if not allowed."""
    if record.kind != RecordKind.CARE:
        raise ValueError("not a care record")
    allowed = may_read(session, reader, record)
    audit_read(session, reader, record, allowed=allowed, now=now)
    if not allowed:
        raise CareNoteRefused("您无权查看这条关爱记录")
    if record.sensitive_note is None:
        return None
    return decrypt_note(key, record.sensitive_note)
