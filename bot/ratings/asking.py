"""Asking students to rate: the life of a RatingRequest. ``due_activities`` finds the group
activities whose rating window is open and that still have participants not asked;
``send_cards`` asks each of them with a card, within each student's weekly limit (the rest
lapse quietly), writing the requests and their outbox rows together; ``send_reminders`` sends
one reminder to whoever has not answered; ``lapse_expired`` closes what the window left.
A request is inserted with ``ON CONFLICT DO NOTHING`` on (record, student), so a job that runs
twice, or two at once, sends nobody a second card. Each runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import InsertIgnoringConflicts
from bot.core.models import (
    Person,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.ratings import cards, rules
from bot.ratings.rules import RatingPolicy

# a request per (record, student): a second is left out
_INSERT_REQUESTS = InsertIgnoringConflicts(
    RatingRequest.__table__, ("record_id", "student_id"), returning="student_id"
)


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
        sa.select(RecordParticipant.record_id, Person.id, Person.userid, Person.wechat_plugin)
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
    on_page: set[int] = set()  # asked with a textcard linking the rating page
    for record_id, student_id, userid, wechat_plugin in pairs:
        wanted[student_id].append(record_id)
        userids[student_id] = userid
        if wechat_plugin or policy.channel == "page":
            on_page.add(student_id)
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
            count = _send_card(session, record, chunk, userids, on_page, now, policy)
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
    on_page: set[int],
    now: datetime,
    policy: RatingPolicy,
) -> int:
    """One card for ``student_ids`` (those ``on_page`` get a textcard linking the rating page
    instead: WeChat-plugin users see no template cards)."""
    task_id = f"rate-{record.id}-{uuid.uuid4().hex}"
    expires_at = now + policy.window
    inserted = _insert_requests(session, record.id, student_ids, task_id, now, expires_at, now)
    if not inserted:
        return 0
    page = [student_id for student_id in inserted if student_id in on_page]
    on_card = [student_id for student_id in inserted if student_id not in on_page]
    described = {
        "kind": record.kind,
        "mentor_name": record.mentor.name,
        "title": record.title,
        "at": record.occurred_at,
        "deadline": expires_at,
        "zone": policy.zone,
    }
    sends: list[tuple[list[int], Message]] = []
    if page:
        url = cards.rate_url(policy.base_url, record.id)
        sends.append((page, cards.rating_textcard(url=url, **described)))
    if on_card:
        card = cards.rating_card(task_id=task_id, record_id=record.id, **described)
        sends.append((on_card, Message.template_card(card)))
    return sum(
        outbox.enqueue(
            session,
            [userids[student_id] for student_id in students],
            message,
            key=f"rating:{record.id}",
            now=now,
            urgent=False,
        )
        for students, message in sends
    )


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
        people = session.execute(
            sa.select(Person.userid, Person.wechat_plugin).where(
                Person.id.in_(student_ids), Person.active.is_(True)
            )
        ).all()
        url = cards.rate_url(policy.base_url, record_id)
        for on_page in (False, True):
            userids = [
                userid
                for userid, plugin in people
                if (plugin or policy.channel == "page") == on_page
            ]
            text = cards.reminder_text(
                kind=record.kind,
                mentor_name=record.mentor.name,
                title=record.title,
                at=record.occurred_at,
                deadline=expires_at,
                zone=policy.zone,
                page_url=url if on_page else "",
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
