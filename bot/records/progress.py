"""我的: a mentor's progress against the regulation's minimums, from their own records.

Ratings are shown as aggregates only, and only for records with at least 3 ratings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AcademicYear, Rating, Record, RecordKind, Semester

MIN_RATINGS = 3


@dataclass(frozen=True)
class Target:
    label: str
    done: int
    goal: int

    @property
    def met(self) -> bool:
        return self.done >= self.goal


@dataclass(frozen=True)
class RatingSummary:
    activities: int  # records with at least MIN_RATINGS ratings
    satisfaction: Decimal | None  # mean share of 4–5 ratings, percent, one decimal


@dataclass(frozen=True)
class Progress:
    targets: list[Target]
    semester_known: bool
    ratings: RatingSummary


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def _count(
    session: so.Session,
    mentor_id: int,
    kinds: tuple[RecordKind, ...],
    start: datetime,
    end: datetime,
) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(Record.id)).where(
                Record.mentor_id == mentor_id,
                Record.kind.in_(kinds),
                Record.deleted_at.is_(None),
                Record.occurred_at >= start,
                Record.occurred_at < end,
            )
        )
        or 0
    )


def progress(
    session: so.Session, *, mentor_id: int, year: AcademicYear, now: datetime, zone: ZoneInfo
) -> Progress:
    today = now.astimezone(zone).date()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    semester = session.scalar(
        sa.select(Semester).where(
            Semester.year_id == year.id, Semester.starts_on <= today, Semester.ends_on >= today
        )
    )
    sem_start = _start(semester.starts_on if semester else year.starts_on, zone)
    sem_end = _start((semester.ends_on if semester else year.ends_on) + timedelta(days=1), zone)

    def count(kinds: tuple[RecordKind, ...], start: datetime, end: datetime) -> int:
        return _count(session, mentor_id, kinds, start, end)

    week = (_start(week_start, zone), _start(week_start + timedelta(days=7), zone))
    month = (_start(month_start, zone), _start(next_month, zone))
    targets = [
        Target("本周个别交流", count((RecordKind.CONTACT,), *week), 2),
        Target("本学期集体活动", count((RecordKind.GROUP_ACTIVITY,), sem_start, sem_end), 2),
        Target("本学期与辅导员沟通", count((RecordKind.COUNSELLOR_TALK,), sem_start, sem_end), 1),
        Target("本学期与学院负责人交流", count((RecordKind.LEADER_TALK,), sem_start, sem_end), 1),
        Target("本月计划", count((RecordKind.MONTHLY_PLAN,), *month), 1),
        Target("本月宣传素材", count((RecordKind.PUBLICITY,), *month), 2),
    ]
    return Progress(targets, semester is not None, rating_summary(session, mentor_id, year.id))


def rating_summary(session: so.Session, mentor_id: int, year_id: int) -> RatingSummary:
    """Mean satisfaction over the year's records that have at least 3 ratings."""
    good = sa.func.sum(sa.case((Rating.level >= 4, 1), else_=0))
    rows = session.execute(
        sa.select(Rating.record_id, sa.func.count(Rating.id), good)
        .join(Record, Record.id == Rating.record_id)
        .where(
            Record.mentor_id == mentor_id,
            Record.year_id == year_id,
            Record.deleted_at.is_(None),
            Rating.attended.is_(True),
        )
        .group_by(Rating.record_id)
        .having(sa.func.count(Rating.id) >= MIN_RATINGS)
    ).all()
    if not rows:
        return RatingSummary(0, None)
    shares = [Decimal(int(row[2] or 0) * 100) / Decimal(row[1]) for row in rows]
    mean = (sum(shares) / len(shares)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return RatingSummary(len(rows), mean)


def progress_text(result: Progress, name: str) -> str:
    """The progress as markdown, one line per target."""
    lines = [f"**{name}老师的工作进度**", ""]
    for target in result.targets:
        mark = "✅" if target.met else "⬜"
        color = "info" if target.met else "warning"
        lines.append(
            f'{mark} {target.label}：<font color="{color}">{target.done}</font> / {target.goal}'
        )
    if not result.semester_known:
        lines.append("（本学年的学期日期尚未设置，按整个学年统计）")
    lines.append("")
    summary = result.ratings
    if summary.satisfaction is None:
        lines.append("学生评价：暂无（评价满3人的活动才显示汇总）")
    else:
        lines.append(
            f"学生评价：{summary.activities} 项活动，平均满意度 {summary.satisfaction}%"
            "（仅统计评价满3人的活动，评价匿名）"
        )
    return "\n".join(lines)
