"""The academy office's audit export: every rating with who gave it, and a summary per record.

This workbook pairs students with ratings: it is for the academy office only (the server
command ``flask --app bot ratings export`` and the signed-in page ``/m/ratings/<year>.xlsx``
linked by the chat command 导出评价), never shown to mentors. Every export is one audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.models import (
    RECORD_KIND_NAMES,
    AcademicYear,
    AuditEntry,
    Person,
    Rating,
    Record,
)
from bot.cycle.workbook import escape_cell
from bot.ratings.rules import CHOICES, DID_NOT_ATTEND
from bot.roster.calendar import parse_year_code, year_code_for

#: The chat command that links the page.
COMMAND = "导出评价"

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


def requested_year(words: Sequence[str], today: date) -> str | None:
    """The year code asked for after the command (the academic year of ``today`` if none);
    None if the word is not a year code such as ``2025-2026``."""
    if not words:
        return year_code_for(today)
    code = words[0].strip()
    return code if parse_year_code(code) is not None else None


def find_year(session: so.Session, year_code: str) -> AcademicYear | None:
    """The academic year with this code; None for an unknown or malformed code."""
    if parse_year_code(year_code) is None:
        return None
    return session.scalar(sa.select(AcademicYear).where(AcademicYear.code == year_code))


def page_url(base_url: str, year_code: str) -> str:
    """The signed-in page that downloads the year's workbook (office only, audited)."""
    return f"{base_url}/m/ratings/{year_code}.xlsx"


def download_name(year_code: str) -> str:
    return f"{year_code}-学生评价明细.xlsx"


def audit_export(
    session: so.Session,
    *,
    actor: Person | None,
    year_code: str | None,
    count: int,
    now: datetime,
    file: str,
) -> None:
    """One audit entry for one export: who (None: the server command), which year, how many."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id if actor else None,
            action="export",
            entity="rating",
            entity_id=year_code or "all",
            before=None,
            after={"ratings": count, "file": file},
        )
    )


def audit_refused(session: so.Session, *, actor: Person, year_code: str, now: datetime) -> None:
    """One audit entry for a refused attempt to download the export (nothing was built)."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id,
            action="export_refused",
            entity="rating",
            entity_id=year_code[:64],
            before=None,
            after=None,
        )
    )


def ratings_workbook(
    session: so.Session, zone: ZoneInfo, year_code: str | None = None
) -> tuple[bytes, int]:
    """The .xlsx (sheet 评价明细, sheet 活动汇总) for one year (all years if None) and the number
    of ratings in it, deleted records left out. Every text cell is escaped against spreadsheet
    formulas."""
    student = so.aliased(Person)
    mentor = so.aliased(Person)
    query = (
        sa.select(Rating, Record, AcademicYear.code, mentor, student)
        .join(Record, Record.id == Rating.record_id)
        .join(AcademicYear, AcademicYear.id == Record.year_id)
        .join(mentor, mentor.id == Record.mentor_id)
        .join(student, student.id == Rating.student_id)
        .where(Record.deleted_at.is_(None))  # a deleted record's ratings count for nothing
        .order_by(Record.occurred_at, Record.id, student.number)
    )
    if year_code:
        query = query.where(AcademicYear.code == year_code)
    book = Workbook()
    details = book.active
    details.title = "评价明细"
    _append(details, RATINGS_HEADER)
    totals: dict[int, list[Any]] = {}
    count = 0
    for rating, record, code, who_mentor, who_student in session.execute(query):
        count += 1
        when = _local(record.occurred_at, zone)
        choice = rating.level if rating.attended else DID_NOT_ATTEND
        _append(
            details,
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
            ],
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
    _append(summary, SUMMARY_HEADER)
    for record_id, code, name, kind, title, when, rated, good, denied in totals.values():
        share = round(good * 100 / rated, 1) if rated else None
        _append(
            summary,
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
            ],
        )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def _append(sheet: Worksheet, row: Sequence[Any]) -> None:
    sheet.append([escape_cell(value) for value in row])


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
