"""Care notes (关爱记录) are sensitive: encrypted at rest, read only by the people the
regulation names, and every read (or refused read) is written to the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from cryptography.fernet import Fernet, InvalidToken

from bot.models import AuditEntry, MentorAssignment, Person, Record, RecordKind, Role


class CareNoteRefused(PermissionError):
    """The reader may not read this care note."""


def encrypt_note(key: str, text: str) -> bytes:
    return Fernet(key.encode("ascii")).encrypt(text.encode("utf-8"))


def decrypt_note(key: str, token: bytes) -> str:
    try:
        return Fernet(key.encode("ascii")).decrypt(token).decode("utf-8")
    except InvalidToken:
        raise ValueError("care note cannot be decrypted with CARE_NOTES_KEY") from None


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


def read_care_note(
    session: so.Session, reader: Person, record: Record, *, key: str, now: datetime
) -> str:
    """The note's text for ``reader``; audited either way; CareNoteRefused if not allowed."""
    if record.kind != RecordKind.CARE or record.sensitive_note is None:
        raise ValueError("not a care record with a note")
    allowed = may_read(session, reader, record)
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
    if not allowed:
        raise CareNoteRefused("您无权查看这条关爱记录")
    return decrypt_note(key, record.sensitive_note)
