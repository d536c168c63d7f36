"""Students' rating windows around the cycle: the year's last month of individual guidance is
rated from the moment the cycle opens (its cards would otherwise go out on 1–7 September and
could lapse after 公示), and while any card of the year is still open, 公示 names them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    Person,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordKind,
)
from bot.ratings import asking, guidance
from bot.ratings.rules import RatingPolicy


def last_month(year: AcademicYear, policy: RatingPolicy) -> tuple[datetime, datetime]:
    """[start, end) of the year's last calendar month (August), in the university's zone."""
    first = year.ends_on.replace(day=1)
    end = year.ends_on + timedelta(days=1)
    return (
        datetime.combine(first, time(0, 0), tzinfo=policy.zone),
        datetime.combine(end, time(0, 0), tzinfo=policy.zone),
    )


def send_last_month_guidance(
    session: so.Session, cycle: AssessmentCycle, *, now: datetime, policy: RatingPolicy
) -> int:
    """The year's last month's guidance cards, now (students asked before are not asked
    again; students contacted later in the month are added by the monthly job)."""
    if not policy.monthly_cards:
        return 0
    month = last_month(cycle.year, policy)
    records = guidance.ensure_monthly_guidance(session, now, policy, month=month)
    records = [r for r in records if r.year_id == cycle.year_id]
    return asking.send_cards(session, records, now, policy).cards


def _day(at: datetime, policy: RatingPolicy) -> str:
    local: date = at.astimezone(policy.zone).date()
    return f"{local.month}月{local.day}日"


def open_windows(
    session: so.Session, cycle: AssessmentCycle, *, now: datetime, policy: RatingPolicy
) -> list[str]:
    """One line per kind of the year's rating cards still open (unanswered, not expired)."""
    rows = session.execute(
        sa.select(Record.kind, Record.title, Person.name, sa.func.max(RatingRequest.expires_at))
        .join(RatingRequest, RatingRequest.record_id == Record.id)
        .join(Person, Person.id == Record.mentor_id)
        .where(
            Record.year_id == cycle.year_id,
            Record.deleted_at.is_(None),
            RatingRequest.status == RatingRequestStatus.PENDING,
            RatingRequest.expires_at > now,
        )
        .group_by(Record.id, Record.kind, Record.title, Person.name)
    ).all()
    if not rows:
        return []
    lines = []
    guidance_rows = [r for r in rows if r[0] == RecordKind.MONTHLY_GUIDANCE]
    others = [r for r in rows if r[0] != RecordKind.MONTHLY_GUIDANCE]
    for title in sorted({r[1] for r in guidance_rows}):
        group = [r for r in guidance_rows if r[1] == title]
        until = max(r[3] for r in group)
        lines.append(
            f"学生对“{title}”的评价尚未截止（{len(group)} 位导师，至 {_day(until, policy)}）"
        )
    if others:
        until = max(r[3] for r in others)
        names = "、".join(sorted({f"{r[2]}“{r[1]}”" for r in others})[:5])
        lines.append(
            f"学生对 {len(others)} 项活动的评价尚未截止（{names}{'等' if len(others) > 5 else ''}，"
            f"最晚至 {_day(until, policy)}）"
        )
    return lines
