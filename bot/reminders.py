"""What every reminder job shares. A job is ``job(database, now, *, rules, **params) -> int``
(named in ``scheduler/schedule.toml``, run by the one scheduler process) and writes outbox rows
through :func:`notify`, keyed per campaign, person and period, so a job that runs twice, or in
two processes, adds each message once. Each returns how many rows it added. The outbox key
holds only while the row is kept (``OUTBOX_KEEP_DAYS``), so a message that must never repeat
however long its condition lasts (an overdue step escalated to a college head) is also recorded
in a table of its own (:class:`bot.core.models.OverdueEscalation`).

Each feature's reminders live beside it: :mod:`bot.records.reminders` (contacts, activities,
plans, publicity), :mod:`bot.cycle.reminders` (the assessment calendar),
:mod:`bot.ratings.jobs` (rating cards)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.calendar import (
    Rules,
    next_allowed_moment,
)
from bot.core.models import (
    MentorAssignment,
    Person,
    Record,
    RecordKind,
    Semester,
)
from bot.outbox import queue as outbox
from bot.outbox.queue import Message

MAX_NAMES = 60  # names listed in one message (text messages hold at most 2,048 bytes)


def notify(
    session: so.Session,
    userids: Iterable[str],
    message: Message,
    *,
    campaign: str,
    period: str,
    now: datetime,
    rules: Rules,
    urgent: bool = False,
) -> int:
    """Queue ``message`` for each of ``userids`` once per ``campaign`` and ``period``.

    A non-urgent message is held back to the next allowed moment (working day, outside quiet
    hours, off the full and half hour)."""
    available_at = now if urgent else next_allowed_moment(now, rules, salt=campaign)
    return outbox.enqueue(
        session,
        userids,
        message,
        key=f"{campaign}:{period}",
        now=now,
        available_at=available_at,
        urgent=urgent,
    )


def local_start(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=rules.zone)


def semesters_of(session: so.Session, year_id: int) -> list[Semester]:
    return list(
        session.scalars(
            sa.select(Semester).where(Semester.year_id == year_id).order_by(Semester.number)
        )
    )


@dataclass(frozen=True)
class Mentor:
    person_id: int
    userid: str
    name: str
    college_id: int


def mentors_of(session: so.Session, year_id: int) -> list[Mentor]:
    """The year's assigned mentors who are active, in a stable order."""
    rows = session.execute(
        sa.select(Person.id, Person.userid, Person.name, MentorAssignment.college_id)
        .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
        .where(MentorAssignment.year_id == year_id, Person.active.is_(True))
        .order_by(Person.id)
    )
    return [Mentor(*row) for row in rows]


def counts_by_mentor(
    session: so.Session,
    year_id: int,
    kinds: Sequence[RecordKind],
    start: datetime,
    end: datetime,
    *,
    offline: bool = False,
) -> dict[int, int]:
    """Live records of ``kinds`` per mentor with ``start <= occurred_at < end``: the same
    rule as ``bot.records.progress`` (我的), grouped in one query for every mentor. Callers
    pass ``end`` no later than now: what is recorded so far. ``offline``: leave out records
    marked 线上 (for an item the rubric counts only offline)."""
    query = (
        sa.select(Record.mentor_id, sa.func.count(Record.id))
        .where(
            Record.year_id == year_id,
            Record.kind.in_(kinds),
            Record.deleted_at.is_(None),
            Record.occurred_at >= start,
            Record.occurred_at < end,
        )
        .group_by(Record.mentor_id)
    )
    if offline:
        query = query.where(sa.or_(Record.online.is_(None), Record.online.is_(False)))
    rows = session.execute(query)
    return {mentor_id: count for mentor_id, count in rows}


def group_by_text(messages: dict[str, str]) -> dict[str, list[str]]:
    """userid → text, turned into text → userids (identical texts go out in one call)."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for userid, text in messages.items():
        grouped[text].append(userid)
    return grouped


def send_texts(
    session: so.Session,
    messages: dict[str, str],
    *,
    campaign: str,
    period: str,
    now: datetime,
    rules: Rules,
) -> int:
    added = 0
    for text, userids in group_by_text(messages).items():
        added += notify(
            session,
            userids,
            Message.text(text),
            campaign=campaign,
            period=period,
            now=now,
            rules=rules,
        )
    return added
