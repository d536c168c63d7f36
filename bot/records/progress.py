"""我的: a mentor's progress against the regulation's minimums, from their own records.

The minimums and what a record counts for are the rubric's (its ``[[evidence.ITEM]]``
requirements and ``Rubric.items_for``: a 线上 activity is no offline group activity). Ratings
are shown as aggregates only, and only for records with at least the rubric's anonymity
threshold of ratings (``[satisfaction] anonymity_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AcademicYear, Rating, Record, RecordKind, Semester
from bot.core.rubrics import rubric_for_year
from scoring import Rubric

# (label, kind, period): the rows of 我的, their goals from the rubric's requirement for the
# kind over that period, counting the records that evidence the requirement's item
ROWS = (
    ("本周个别交流", RecordKind.CONTACT, "teaching_week"),
    ("本学期线下集体活动", RecordKind.GROUP_ACTIVITY, "semester"),
    ("本学期与辅导员沟通", RecordKind.COUNSELLOR_TALK, "semester"),
    ("本学期与学院负责人交流", RecordKind.LEADER_TALK, "semester"),
    ("本月计划", RecordKind.MONTHLY_PLAN, "month"),
    ("本月宣传素材", RecordKind.PUBLICITY, "month"),
)


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
    activities: int  # records with at least ``threshold`` ratings
    satisfaction: Decimal | None  # mean share of 4–5 ratings, percent, one decimal
    threshold: int = 3  # the rubric's anonymity threshold


@dataclass(frozen=True)
class Progress:
    targets: list[Target]
    semester_known: bool
    ratings: RatingSummary


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def goal_of(rubric: Rubric, kind: RecordKind, per: str) -> tuple[str, int] | None:
    """(item, records needed) of the rubric's requirement over ``per`` that ``kind``'s
    records evidence for the kind's own item (a group activity's: the offline activities);
    None when the rubric sets none."""
    own = rubric.records.kinds.get(kind, ())
    for item_id, requirements in rubric.evidence.items():
        for requirement in requirements:
            if item_id in own and kind in requirement.kinds and requirement.per == per:
                return item_id, requirement.target
    return None


def progress(
    session: so.Session, *, mentor_id: int, year: AcademicYear, now: datetime, zone: ZoneInfo
) -> Progress:
    rubric = rubric_for_year(session, year.id)
    today = now.astimezone(zone).date()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    semester = session.scalar(
        sa.select(Semester).where(
            Semester.year_id == year.id, Semester.starts_on <= today, Semester.ends_on >= today
        )
    )
    periods = {
        "teaching_week": (_start(week_start, zone), _start(week_start + timedelta(days=7), zone)),
        "month": (_start(month_start, zone), _start(next_month, zone)),
        "semester": (
            _start(semester.starts_on if semester else year.starts_on, zone),
            _start((semester.ends_on if semester else year.ends_on) + timedelta(days=1), zone),
        ),
    }
    rows = [(label, kind, per, goal_of(rubric, kind, per)) for label, kind, per in ROWS]
    rows = [(label, kind, per, goal) for label, kind, per, goal in rows if goal is not None]
    earliest = min(periods[per][0] for _, _, per, _ in rows) if rows else None
    latest = max(periods[per][1] for _, _, per, _ in rows) if rows else None
    records = (
        session.execute(
            sa.select(Record.kind, Record.activity_type, Record.online, Record.occurred_at).where(
                Record.mentor_id == mentor_id,
                Record.year_id == year.id,
                Record.kind.in_([kind for _, kind, _, _ in rows]),
                Record.deleted_at.is_(None),
                Record.occurred_at >= earliest,
                Record.occurred_at < latest,
            )
        ).all()
        if rows
        else []
    )
    targets = []
    for label, kind, per, (item_id, goal) in rows:  # type: ignore[misc]
        start, end = periods[per]
        done = sum(
            1
            for r_kind, activity, online, at in records
            if r_kind == kind
            and start <= at < end
            and item_id in rubric.items_for(r_kind, activity, online)
        )
        targets.append(Target(label, done, goal))
    threshold = rubric.satisfaction.anonymity_threshold
    return Progress(
        targets, semester is not None, rating_summary(session, mentor_id, year.id, threshold)
    )


def rating_summary(
    session: so.Session, mentor_id: int, year_id: int, threshold: int
) -> RatingSummary:
    """Mean satisfaction over the year's records that have at least ``threshold`` ratings."""
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
        .having(sa.func.count(Rating.id) >= threshold)
    ).all()
    if not rows:
        return RatingSummary(0, None, threshold)
    shares = [Decimal(int(row[2] or 0) * 100) / Decimal(row[1]) for row in rows]
    mean = (sum(shares) / len(shares)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return RatingSummary(len(rows), mean, threshold)


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
        lines.append(f"学生评价：暂无（评价满{summary.threshold}人的活动才显示汇总）")
    else:
        lines.append(
            f"学生评价：{summary.activities} 项活动，平均满意度 {summary.satisfaction}%"
            f"（仅统计评价满{summary.threshold}人的活动，评价匿名）"
        )
    return "\n".join(lines)
