"""Writes of the rating feature, each in the caller's transaction.

Cards: the RatingRequests and their outbox rows are written together; a request is inserted
with ``ON CONFLICT DO NOTHING`` on (record, student), so a job that runs twice, or two at once,
sends nobody a second card. Taps: the Rating is inserted the same way, so of any number of
taps by one student on one record, at the same moment or not, exactly one is stored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import InsertIgnoringConflicts
from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    MentorAssignment,
    Person,
    Rating,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
)
from bot.core.settings import Settings
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.ratings import cards, rules
from bot.ratings.rules import RatingPolicy, TapOutcome
from bot.roster.holders import holder_userids

FLAG_ACTION = "rating_flag"


def policy_from(settings: Settings) -> RatingPolicy:
    return RatingPolicy(
        window=timedelta(days=settings.RATING_WINDOW_DAYS),
        weekly_cap=settings.RATING_WEEKLY_CAP,
        reminder_after=timedelta(days=settings.RATING_REMINDER_DAYS),
        monthly_cards=settings.RATING_MONTHLY_CARDS,
        deny_flag=settings.RATING_DENY_FLAG,
        activity_length=timedelta(hours=settings.RATING_ACTIVITY_HOURS),
        zone=settings.zone,
    )


# a request per (record, student) and a rating per (record, student): a second is left out
_INSERT_REQUESTS = InsertIgnoringConflicts(
    RatingRequest.__table__, ("record_id", "student_id"), returning="student_id"
)
_INSERT_RATING = InsertIgnoringConflicts(Rating.__table__, ("record_id", "student_id"))


# -- cards --------------------------------------------------------------------------------


@dataclass
class CardReport:
    records: int = 0
    cards: int = 0  # students who get a card
    lapsed: int = 0  # requests that lapsed quietly (weekly limit)
    calls: int = 0  # distinct card payloads (≤ 1,000 recipients each)
    by_record: dict[int, int] = field(default_factory=dict)


def due_activities(session: so.Session, now: datetime, policy: RatingPolicy) -> list[Record]:
    """Group activities that have ended within the window and still have unasked participants."""
    earliest = now - policy.window - policy.activity_length
    asked = sa.select(RatingRequest.id).where(
        RatingRequest.record_id == RecordParticipant.record_id,
        RatingRequest.student_id == RecordParticipant.student_id,
    )
    unasked = sa.select(RecordParticipant.id).where(
        RecordParticipant.record_id == Record.id, ~asked.exists()
    )
    candidates = session.scalars(
        sa.select(Record)
        .where(
            Record.kind == RecordKind.GROUP_ACTIVITY,
            Record.deleted_at.is_(None),
            Record.occurred_at <= now,
            sa.or_(Record.ends_at >= now - policy.window, Record.occurred_at >= earliest),
            unasked.exists(),
        )
        .order_by(Record.occurred_at)
    )
    return [
        record
        for record in candidates
        if rules.is_due(rules.activity_end(record.occurred_at, record.ends_at, policy), now, policy)
    ]


def send_cards(
    session: so.Session, records: Sequence[Record], now: datetime, policy: RatingPolicy
) -> CardReport:
    """Ask every not yet asked participant of ``records``, within each one's weekly limit."""
    report = CardReport(records=len(records))
    if not records:
        return report
    by_id = {record.id: record for record in records}
    pairs = session.execute(
        sa.select(RecordParticipant.record_id, Person.id, Person.userid)
        .join(Person, Person.id == RecordParticipant.student_id)
        .where(
            RecordParticipant.record_id.in_(by_id),
            Person.active.is_(True),
            ~sa.select(RatingRequest.id)
            .where(
                RatingRequest.record_id == RecordParticipant.record_id,
                RatingRequest.student_id == RecordParticipant.student_id,
            )
            .exists(),
        )
    ).all()
    wanted: dict[int, list[int]] = defaultdict(list)  # student → records
    userids: dict[int, str] = {}
    for record_id, student_id, userid in pairs:
        wanted[student_id].append(record_id)
        userids[student_id] = userid
    sent_this_week = _cards_since(session, list(wanted), rules.week_start(now, policy.zone))
    send: dict[int, list[int]] = defaultdict(list)  # record → students
    lapse: dict[int, list[int]] = defaultdict(list)
    for student_id, record_ids in wanted.items():
        newest_first = sorted(
            record_ids,
            key=lambda rid: rules.activity_end(by_id[rid].occurred_at, by_id[rid].ends_at, policy),
            reverse=True,
        )
        to_send, to_lapse = rules.split_by_cap(
            newest_first, sent_this_week.get(student_id, 0), policy.weekly_cap
        )
        for record_id in to_send:
            send[record_id].append(student_id)
        for record_id in to_lapse:
            lapse[record_id].append(student_id)
    for record_id, student_ids in lapse.items():
        report.lapsed += len(_insert_requests(session, record_id, student_ids, "", now, now, None))
    for record in records:
        student_ids = sorted(send.get(record.id, []))
        for chunk in rules.chunks(student_ids):
            report.calls += 1
            count = _send_card(session, record, chunk, userids, now, policy)
            report.cards += count
            report.by_record[record.id] = report.by_record.get(record.id, 0) + count
    return report


def _cards_since(session: so.Session, student_ids: list[int], since: datetime) -> dict[int, int]:
    counts: dict[int, int] = {}
    for start in range(0, len(student_ids), 1000):
        chunk = student_ids[start : start + 1000]
        query = (
            sa.select(RatingRequest.student_id, sa.func.count(RatingRequest.id))
            .where(RatingRequest.student_id.in_(chunk), RatingRequest.sent_at >= since)
            .group_by(RatingRequest.student_id)
        )
        counts.update((student_id, count) for student_id, count in session.execute(query))
    return counts


def _insert_requests(
    session: so.Session,
    record_id: int,
    student_ids: Sequence[int],
    task_id: str,
    now: datetime,
    expires_at: datetime,
    sent_at: datetime | None,
) -> list[int]:
    """Insert requests; returns the students inserted now (not those asked before)."""
    if not student_ids:
        return []
    status = RatingRequestStatus.PENDING if sent_at is not None else RatingRequestStatus.LAPSED
    rows = [
        {
            "record_id": record_id,
            "student_id": student_id,
            "task_id": task_id,
            "status": status,
            "created_at": now,
            "expires_at": expires_at,
            "sent_at": sent_at,
        }
        for student_id in student_ids
    ]
    return list(_INSERT_REQUESTS.execute(session, rows).scalars())


def _send_card(
    session: so.Session,
    record: Record,
    student_ids: list[int],
    userids: dict[int, str],
    now: datetime,
    policy: RatingPolicy,
) -> int:
    task_id = f"rate-{record.id}-{uuid.uuid4().hex}"
    expires_at = now + policy.window
    inserted = _insert_requests(session, record.id, student_ids, task_id, now, expires_at, now)
    if not inserted:
        return 0
    card = cards.rating_card(
        task_id=task_id,
        record_id=record.id,
        kind=record.kind,
        mentor_name=record.mentor.name,
        title=record.title,
        at=record.occurred_at,
        deadline=expires_at,
        zone=policy.zone,
    )
    return outbox.enqueue(
        session,
        [userids[student_id] for student_id in inserted],
        Message.template_card(card),
        key=f"rating:{record.id}",
        now=now,
        urgent=False,
    )


# -- monthly guidance ---------------------------------------------------------------------


def ensure_monthly_guidance(
    session: so.Session, now: datetime, policy: RatingPolicy
) -> list[Record]:
    """Last month's MONTHLY_GUIDANCE record per mentor, with every student contacted then."""
    from bot.records.service import current_year

    start, end = rules.previous_month(now, policy.zone)
    contacted: dict[int, set[int]] = defaultdict(set)
    for mentor_id, student_id in session.execute(
        sa.select(Record.mentor_id, RecordParticipant.student_id)
        .join(RecordParticipant, RecordParticipant.record_id == Record.id)
        .where(
            Record.kind == RecordKind.CONTACT,
            Record.deleted_at.is_(None),
            Record.occurred_at >= start,
            Record.occurred_at < end,
        )
    ):
        contacted[mentor_id].add(student_id)
    if not contacted:
        return []
    existing = {
        record.mentor_id: record
        for record in session.scalars(
            sa.select(Record).where(
                Record.kind == RecordKind.MONTHLY_GUIDANCE,
                Record.deleted_at.is_(None),
                Record.mentor_id.in_(contacted),
                Record.occurred_at >= start,
                Record.occurred_at < end,
            )
        )
    }
    last_day = (end - timedelta(days=1)).date()
    year = current_year(session, last_day)
    if year is None:
        return []
    guidance_at = datetime.combine(last_day, time(20, 0), tzinfo=policy.zone)
    records = []
    for mentor_id, student_ids in sorted(contacted.items()):
        record = existing.get(mentor_id)
        if record is None:
            record = Record(
                year_id=year.id,
                mentor_id=mentor_id,
                kind=RecordKind.MONTHLY_GUIDANCE,
                title=f"{start.month}月个别指导",
                occurred_at=guidance_at,
                created_at=now,
                updated_at=now,
            )
            session.add(record)
        have = {participant.student_id for participant in record.participants}
        for student_id in sorted(student_ids - have):
            record.participants.append(RecordParticipant(student_id=student_id))
        records.append(record)
    session.flush()
    return records


# -- taps ---------------------------------------------------------------------------------


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


# -- did-not-attend flags -----------------------------------------------------------------


def denials(session: so.Session, record_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(Rating.id)).where(
                Rating.record_id == record_id, Rating.attended.is_(False)
            )
        )
        or 0
    )


def is_flagged(session: so.Session, record_id: int) -> bool:
    return bool(
        session.scalar(
            sa.select(
                sa.select(AuditEntry.id)
                .where(
                    AuditEntry.entity == "record",
                    AuditEntry.entity_id == str(record_id),
                    AuditEntry.action == FLAG_ACTION,
                )
                .exists()
            )
        )
    )


def flag_if_denied(
    session: so.Session, record: Record, now: datetime, policy: RatingPolicy
) -> bool:
    """Flag ``record`` for its college once enough participants say they did not attend."""
    count = denials(session, record.id)
    if not rules.is_flagged(count, policy) or is_flagged(session, record.id):
        return False
    session.add(
        AuditEntry(
            at=now,
            actor_id=None,
            action=FLAG_ACTION,
            entity="record",
            entity_id=str(record.id),
            before=None,
            after={"denials": count, "threshold": policy.deny_flag},
        )
    )
    outbox.enqueue(
        session,
        college_admins(session, record),
        Message.text(
            cards.flagged_text(
                mentor_name=record.mentor.name,
                title=record.title,
                at=record.occurred_at,
                denials=count,
                zone=policy.zone,
            )
        ),
        key=f"rating-flag:{record.id}",
        now=now,
    )
    return True


def college_admins(session: so.Session, record: Record) -> list[str]:
    """The admins of the college that assesses the record's mentor (else the academy office)."""
    college_id = session.scalar(
        sa.select(MentorAssignment.college_id).where(
            MentorAssignment.mentor_id == record.mentor_id,
            MentorAssignment.year_id == record.year_id,
        )
    )
    userids: list[str] = []
    if college_id is not None:
        userids = holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college_id)
    return sorted(userids or holder_userids(session, Role.ACADEMY_ADMIN))


def sweep_flags(session: so.Session, now: datetime, policy: RatingPolicy) -> int:
    """Flag records whose denials crossed the threshold in taps that raced each other."""
    rows = session.scalars(
        sa.select(Rating.record_id)
        .where(Rating.attended.is_(False))
        .group_by(Rating.record_id)
        .having(sa.func.count(Rating.id) >= policy.deny_flag)
    ).all()
    flagged = 0
    for record_id in rows:
        record = session.get(Record, record_id)
        if record is not None and flag_if_denied(session, record, now, policy):
            flagged += 1
    return flagged


# -- reminders and lapsing ----------------------------------------------------------------


def send_reminders(session: so.Session, now: datetime, policy: RatingPolicy) -> int:
    """One reminder to each student who has not answered ``reminder_after`` a card went out."""
    claimed = session.execute(
        sa.update(RatingRequest)
        .where(
            RatingRequest.status == RatingRequestStatus.PENDING,
            RatingRequest.sent_at.is_not(None),
            RatingRequest.sent_at <= now - policy.reminder_after,
            RatingRequest.reminded_at.is_(None),
            RatingRequest.expires_at > now,
        )
        .values(reminded_at=now)
        .returning(RatingRequest.record_id, RatingRequest.student_id, RatingRequest.expires_at)
        .execution_options(synchronize_session=False)
    ).all()
    by_record: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for record_id, student_id, expires_at in claimed:
        by_record[(record_id, expires_at)].append(student_id)
    sent = 0
    for (record_id, expires_at), student_ids in by_record.items():
        record = session.get(Record, record_id)
        if record is None or record.deleted_at is not None:
            continue
        userids = session.scalars(
            sa.select(Person.userid).where(Person.id.in_(student_ids), Person.active.is_(True))
        ).all()
        text = cards.reminder_text(
            kind=record.kind,
            mentor_name=record.mentor.name,
            title=record.title,
            at=record.occurred_at,
            deadline=expires_at,
            zone=policy.zone,
        )
        sent += outbox.enqueue(
            session,
            userids,
            Message.text(text),
            key=f"rating-remind:{record_id}",
            now=now,
            urgent=False,
        )
    return sent


def lapse_expired(session: so.Session, now: datetime) -> int:
    """Requests past their window become lapsed (quietly: no message)."""
    result = session.execute(
        sa.update(RatingRequest)
        .where(
            RatingRequest.status == RatingRequestStatus.PENDING,
            RatingRequest.expires_at <= now,
        )
        .values(status=RatingRequestStatus.LAPSED)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
