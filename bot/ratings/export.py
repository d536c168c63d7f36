"""The academy office's audit export: every rating with who gave it, and a summary per record.

This file pairs students with ratings; it is for the office only (a server command), never
shown to mentors.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from openpyxl import Workbook

from bot.models import (
    RECORD_KIND_NAMES,
    AcademicYear,
    AuditEntry,
    Person,
    Rating,
    Record,
)
from bot.ratings.rules import CHOICES, DID_NOT_ATTEND

RATINGS_HEADER = [
    "记录编号",
    "学年",
    "导师工号",
    "导师",
    "类型",
    "标题",
    "时间",
    "学号",
    "学生",
    "评价",
    "评价时间",
]
SUMMARY_HEADER = [
    "记录编号",
    "学年",
    "导师",
    "类型",
    "标题",
    "时间",
    "评价人数",
    "满意率(%)",
    "我没参加",
    "已标记",
]


def export_ratings(
    session: so.Session, path: Path, zone: ZoneInfo, year_code: str | None = None
) -> int:
    """Write ``path`` (.xlsx): sheet 评价明细 and sheet 活动汇总. Returns the number of ratings."""
    student = so.aliased(Person)
    mentor = so.aliased(Person)
    query = (
        sa.select(Rating, Record, AcademicYear.code, mentor, student)
        .join(Record, Record.id == Rating.record_id)
        .join(AcademicYear, AcademicYear.id == Record.year_id)
        .join(mentor, mentor.id == Record.mentor_id)
        .join(student, student.id == Rating.student_id)
        .order_by(Record.occurred_at, Record.id, student.number)
    )
    if year_code:
        query = query.where(AcademicYear.code == year_code)
    book = Workbook()
    details = book.active
    details.title = "评价明细"
    details.append(RATINGS_HEADER)
    totals: dict[int, list[Any]] = {}
    count = 0
    for rating, record, code, who_mentor, who_student in session.execute(query):
        count += 1
        when = _local(record.occurred_at, zone)
        choice = rating.level if rating.attended else DID_NOT_ATTEND
        details.append(
            [
                record.id,
                code,
                who_mentor.number,
                who_mentor.name,
                RECORD_KIND_NAMES[record.kind],
                record.title,
                when,
                who_student.number,
                who_student.name,
                CHOICES[choice or 0],
                _local(rating.created_at, zone),
            ]
        )
        row = totals.setdefault(
            record.id,
            [
                record.id,
                code,
                who_mentor.name,
                RECORD_KIND_NAMES[record.kind],
                record.title,
                when,
                0,
                0,
                0,
            ],
        )
        if rating.attended:
            row[6] += 1
            row[7] += 1 if (rating.level or 0) >= 4 else 0
        else:
            row[8] += 1
    flagged = set(
        session.scalars(
            sa.select(AuditEntry.entity_id).where(
                AuditEntry.entity == "record", AuditEntry.action == "rating_flag"
            )
        )
    )
    summary = book.create_sheet("活动汇总")
    summary.append(SUMMARY_HEADER)
    for record_id, code, name, kind, title, when, rated, good, denied in totals.values():
        share = round(good * 100 / rated, 1) if rated else None
        summary.append(
            [
                record_id,
                code,
                name,
                kind,
                title,
                when,
                rated,
                share,
                denied,
                "是" if str(record_id) in flagged else "",
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return count


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
