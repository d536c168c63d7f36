"""Writing a mentor's records: the record, its participants and the audit trail, in the
caller's transaction. Lookups of the year, the mentor's assignment and roster live here too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    MentorAssignment,
    MentorStudent,
    Person,
    PersonKind,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.core.rubrics import rubric_for_year
from bot.records.care import encrypt_note
from bot.records.names import Student

# how long a deleted record can be restored by its mentor (恢复)
RESTORE_WINDOW = timedelta(days=1)


@dataclass
class NewRecord:
    """What a mentor recorded, checked and resolved (student ids among their own)."""

    kind: RecordKind
    occurred_at: datetime
    student_ids: list[int] = field(default_factory=list)
    title: str = ""
    place: str | None = None
    online: bool | None = None
    note: str | None = None


def current_year(session: so.Session, day: date) -> AcademicYear | None:
    return session.scalar(
        sa.select(AcademicYear).where(AcademicYear.starts_on <= day, AcademicYear.ends_on >= day)
    )


def assignment_for(session: so.Session, mentor_id: int, year_id: int) -> MentorAssignment | None:
    return session.scalar(
        sa.select(MentorAssignment).where(
            MentorAssignment.mentor_id == mentor_id, MentorAssignment.year_id == year_id
        )
    )


def roster(session: so.Session, assignment: MentorAssignment) -> list[Student]:
    """The mentor's students of the assignment's year, by name."""
    rows = session.execute(
        sa.select(Person.id, Person.name)
        .join(MentorStudent, MentorStudent.student_id == Person.id)
        .where(MentorStudent.assignment_id == assignment.id, Person.active.is_(True))
        .order_by(Person.name, Person.id)
    )
    return [Student(id=row.id, name=row.name) for row in rows]


def is_any_student_name(session: so.Session, word: str) -> bool:
    """True when some student (anyone's) has exactly this name."""
    return (
        session.scalar(
            sa.select(Person.id).where(Person.name == word, Person.kind == PersonKind.STUDENT)
        )
        is not None
    )


def cycle_closed(session: so.Session, year_id: int) -> bool:
    status = session.scalar(
        sa.select(AssessmentCycle.status).where(AssessmentCycle.year_id == year_id)
    )
    return status == CycleStatus.CLOSED


def title_for(new: NewRecord) -> str:
    if new.title:
        return new.title[:200]
    if new.kind == RecordKind.CARE or not new.note:
        return ""
    return new.note[:50]


def activity_named(
    session: so.Session, year_id: int, kind: RecordKind, title: str, note: str | None = None
) -> str | None:
    """What the record's text names, in the words of the year's rubric: a group activity's
    type (from its title), a contact's topic (from its title and content, e.g. 考研); None for
    other kinds. ``Rubric.items_for`` reads it to say what the record counts for."""
    if kind == RecordKind.GROUP_ACTIVITY:
        return rubric_for_year(session, year_id).activity_type(title)
    if kind == RecordKind.CONTACT:
        return rubric_for_year(session, year_id).record_type(kind, f"{title} {note or ''}")
    return None


def create_record(
    session: so.Session,
    *,
    mentor: Person,
    year: AcademicYear,
    new: NewRecord,
    care_key: str,
    now: datetime,
) -> Record:
    """Write the record, its participants and an audit entry; the care note encrypted. A
    group activity keeps the activity type its title names (the year's rubric's words)."""
    sensitive = new.kind == RecordKind.CARE and bool(new.note)
    title = title_for(new)
    record = Record(
        year_id=year.id,
        mentor_id=mentor.id,
        kind=new.kind,
        activity_type=activity_named(session, year.id, new.kind, title, new.note),
        title=title,
        occurred_at=new.occurred_at,
        place=new.place,
        online=new.online,
        note=None if sensitive else new.note,
        sensitive_note=encrypt_note(care_key, new.note or "") if sensitive else None,
        created_at=now,
        updated_at=now,
    )
    record.participants = [
        RecordParticipant(student_id=sid) for sid in dict.fromkeys(new.student_ids)
    ]
    session.add(record)
    session.flush()
    audit(session, actor=mentor, action="create", record=record, before=None, now=now)
    return record


def snapshot(record: Record) -> dict[str, Any]:
    """What the audit log keeps of a record (never the care note's text)."""
    return {
        "kind": record.kind.value,
        "title": record.title,
        "activity_type": record.activity_type,
        "occurred_at": record.occurred_at.isoformat(),
        "place": record.place,
        "online": record.online,
        "note": record.note,
        "care_note": "encrypted" if record.sensitive_note is not None else None,
        "students": sorted(p.student_id for p in record.participants),
        "deleted": record.deleted_at is not None,
    }


def audit(
    session: so.Session,
    *,
    actor: Person,
    action: str,
    record: Record,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    after = None if action == "delete" else snapshot(record)
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id,
            action=action,
            entity="record",
            entity_id=str(record.id),
            before=before,
            after=after,
        )
    )


def own_records(session: so.Session, mentor_id: int, year_id: int) -> list[Record]:
    """The mentor's records of the year that are not deleted, newest first (by when they
    happened, then by when they were made): the order the 记录 list shows and numbers."""
    return list(
        session.scalars(
            sa.select(Record)
            .where(
                Record.mentor_id == mentor_id,
                Record.year_id == year_id,
                Record.deleted_at.is_(None),
            )
            .order_by(Record.occurred_at.desc(), Record.id.desc())
            .options(so.selectinload(Record.participants).selectinload(RecordParticipant.student))
        )
    )


def delete_record(session: so.Session, record: Record, *, actor: Person, now: datetime) -> None:
    """Mark the record deleted (evidence, scoring and exports leave it out); it can be
    restored within RESTORE_WINDOW."""
    before = snapshot(record)
    record.deleted_at = now
    record.updated_at = now
    audit(session, actor=actor, action="delete", record=record, before=before, now=now)


def restorable_records(
    session: so.Session, mentor_id: int, year_id: int, now: datetime
) -> list[Record]:
    """The mentor's records of the year deleted within RESTORE_WINDOW, last deleted first."""
    return list(
        session.scalars(
            sa.select(Record)
            .where(
                Record.mentor_id == mentor_id,
                Record.year_id == year_id,
                Record.deleted_at.is_not(None),
                Record.deleted_at > now - RESTORE_WINDOW,
            )
            .order_by(Record.deleted_at.desc(), Record.id.desc())
            .options(so.selectinload(Record.participants).selectinload(RecordParticipant.student))
        )
    )


def restore_record(session: so.Session, record: Record, *, actor: Person, now: datetime) -> None:
    before = snapshot(record)
    record.deleted_at = None
    record.updated_at = now
    audit(session, actor=actor, action="restore", record=record, before=before, now=now)


def update_record(
    session: so.Session,
    record: Record,
    *,
    actor: Person,
    changes: dict[str, Any],
    student_ids: Sequence[int] | None,
    care_key: str,
    now: datetime,
) -> None:
    """Apply field changes (occurred_at, place, online, note, title) and audit them."""
    before = snapshot(record)
    for name, value in changes.items():
        if name == "note" and record.kind == RecordKind.CARE:
            record.sensitive_note = encrypt_note(care_key, value) if value else None
            continue
        if name not in {"occurred_at", "place", "online", "note", "title"}:
            raise ValueError(f"{name} cannot be changed")
        setattr(record, name, value)
        if name in ("title", "note"):
            record.activity_type = activity_named(
                session, record.year_id, record.kind, record.title, record.note
            )
    if student_ids is not None:
        record.participants = [
            RecordParticipant(student_id=sid) for sid in dict.fromkeys(student_ids)
        ]
    record.updated_at = now
    session.flush()
    audit(session, actor=actor, action="update", record=record, before=before, now=now)


def _participants(student_ids: Sequence[int]) -> list[RecordParticipant]:
    return [RecordParticipant(student_id=sid) for sid in dict.fromkeys(student_ids)]
