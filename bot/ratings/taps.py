"""A student's tap on a rating card: ``record_tap`` stores it once or says why not (not a
participant, window closed, already answered, the year's results fixed). The Rating is
inserted with ``ON CONFLICT DO NOTHING`` on (record, student), so of any number of taps by one
student on one record, at the same moment or not, exactly one is stored. A "did not attend"
answer may flag the record (:mod:`bot.ratings.flags`). Runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import InsertIgnoringConflicts
from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    Person,
    Rating,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordParticipant,
)
from bot.ratings import rules
from bot.ratings.flags import flag_if_denied
from bot.ratings.rules import RatingPolicy, TapOutcome

# a rating per (record, student): a second is left out
_INSERT_RATING = InsertIgnoringConflicts(Rating.__table__, ("record_id", "student_id"))


@dataclass(frozen=True)
class TapResult:
    outcome: TapOutcome
    choice: int | None = None


def record_tap(
    session: so.Session,
    *,
    student: Person,
    record_id: int,
    choice: int,
    now: datetime,
    policy: RatingPolicy,
) -> TapResult:
    """Store one tap, or say why not. A second tap, however close, changes nothing; a tap on
    an activity of a year whose assessment is published or closed is refused
    (:func:`rules.tap_outcome`: the year's results are stored and ratings no longer count)."""
    participant = (
        sa.select(RecordParticipant.id)
        .where(
            RecordParticipant.record_id == record_id,
            RecordParticipant.student_id == student.id,
        )
        .exists()
    )
    found = session.execute(
        sa.select(
            RatingRequest.id,
            RatingRequest.status,
            RatingRequest.expires_at,
            Record.deleted_at,
            participant,
            AssessmentCycle.status,
        )
        .join(Record, Record.id == RatingRequest.record_id)
        .outerjoin(AssessmentCycle, AssessmentCycle.year_id == Record.year_id)
        .where(RatingRequest.record_id == record_id, RatingRequest.student_id == student.id)
    ).first()
    if found is None:
        return TapResult(TapOutcome.NOT_PARTICIPANT)
    request_id, status, expires_at, deleted_at, is_participant, cycle_status = found
    refusal = rules.tap_outcome(
        participant=bool(is_participant),
        requested=True,
        lapsed=deleted_at is not None or status == RatingRequestStatus.LAPSED,
        expires_at=expires_at,
        answered=status == RatingRequestStatus.ANSWERED,
        now=now,
        results_fixed=cycle_status in (CycleStatus.PUBLISHED, CycleStatus.CLOSED),
    )
    if refusal is not None:
        return TapResult(refusal)
    attended = choice != rules.DID_NOT_ATTEND
    stored = _INSERT_RATING.execute(
        session,
        {
            "record_id": record_id,
            "student_id": student.id,
            "level": choice if attended else None,
            "attended": attended,
            "created_at": now,
        },
    ).first()
    if stored is None:
        return TapResult(TapOutcome.ALREADY_ANSWERED)
    session.execute(
        sa.update(RatingRequest)
        .where(RatingRequest.id == request_id)
        .values(status=RatingRequestStatus.ANSWERED)
        .execution_options(synchronize_session=False)
    )
    if not attended:
        record = session.get(Record, record_id)
        if record is not None:
            flag_if_denied(session, record, now, policy)
    return TapResult(TapOutcome.RECORDED, choice)
