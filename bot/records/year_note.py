"""Which year's assessment a new record counts for, said when it could be mistaken: once
another year's assessment has opened (it is scored, published or closed), a mentor recording
now is told the record counts for the year it belongs to, not for that one."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AcademicYear, AssessmentCycle, CycleStatus

_STATE = {
    CycleStatus.OPEN: "正在评分",
    CycleStatus.PUBLISHED: "正在公示",
    CycleStatus.CLOSED: "已结束",
}


def year_note(session: so.Session, year: AcademicYear) -> str | None:
    """``本条记录计入 2026-2027 学年考核（2025-2026 学年考核已结束）`` when another year's
    cycle exists (the most recent one is named); None otherwise."""
    other = session.execute(
        sa.select(AcademicYear.code, AssessmentCycle.status)
        .join(AssessmentCycle, AssessmentCycle.year_id == AcademicYear.id)
        .where(AcademicYear.id != year.id)
        .order_by(AcademicYear.starts_on.desc())
        .limit(1)
    ).first()
    if other is None:
        return None
    code, status = other
    return f"本条记录计入 {year.code} 学年考核（{code} 学年考核{_STATE[status]}）。"
