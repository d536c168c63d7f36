"""Personal data: retention after the cycle closes, and one person's data export.

Retention (default: 3 academic years after a year's assessment cycle closed): care notes are
erased and their records detached from the student, individual ratings and rating requests are
deleted, evidence files are deleted from storage and the database. Records, item scores and
results stay: they are the aggregates and final results the university keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from openpyxl import Workbook

from bot.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    EvidenceFile,
    ItemScore,
    MentorAssignment,
    MentorStudent,
    Objection,
    Person,
    Rating,
    RatingRequest,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.storage import FileStore


@dataclass
class RetentionReport:
    years: list[str]
    care_notes: int = 0
    ratings: int = 0
    rating_requests: int = 0
    evidence_files: int = 0

    def lines(self) -> list[str]:
        if not self.years:
            return ["没有超过保留期限的学年。"]
        return [
            f"超过保留期限的学年：{'、'.join(self.years)}",
            f"关爱记录（删除内容并解除与学生的关联）：{self.care_notes} 条",
            f"学生个人评价：{self.ratings} 条；评价请求：{self.rating_requests} 条",
            f"佐证文件：{self.evidence_files} 个",
        ]


def expired_years(session: so.Session, now: datetime, keep_years: int) -> list[AcademicYear]:
    """Years whose cycle closed at least ``keep_years`` years before ``now``."""
    rows = session.execute(
        sa.select(AcademicYear, AssessmentCycle.closed_at)
        .join(AssessmentCycle, AssessmentCycle.year_id == AcademicYear.id)
        .where(AssessmentCycle.status == CycleStatus.CLOSED)
        .order_by(AcademicYear.starts_on)
    ).all()
    expired = []
    for year, closed_at in rows:
        if closed_at is not None and _add_years(closed_at, keep_years) <= now:
            expired.append(year)
    return expired


def purge(
    session: so.Session, store: FileStore, now: datetime, *, keep_years: int, dry_run: bool
) -> RetentionReport:
    """Apply the retention rule (or only count, with ``dry_run``). The caller commits."""
    years = expired_years(session, now, keep_years)
    report = RetentionReport([year.code for year in years])
    if not years:
        return report
    year_ids = [year.id for year in years]
    records = sa.select(Record.id).where(Record.year_id.in_(year_ids))
    care = sa.select(Record.id).where(
        Record.year_id.in_(year_ids),
        Record.kind == RecordKind.CARE,
        sa.or_(Record.sensitive_note.is_not(None), Record.note.is_not(None)),
    )
    report.care_notes = _count(session, care)
    report.ratings = _count(session, sa.select(Rating.id).where(Rating.record_id.in_(records)))
    report.rating_requests = _count(
        session, sa.select(RatingRequest.id).where(RatingRequest.record_id.in_(records))
    )
    evidence = list(
        session.scalars(sa.select(EvidenceFile).where(EvidenceFile.record_id.in_(records)))
    )
    report.evidence_files = len(evidence)
    if dry_run:
        return report
    care_ids = list(session.scalars(care))
    session.execute(
        sa.update(Record)
        .where(Record.id.in_(care_ids))
        .values(sensitive_note=None, note=None, updated_at=now)
    )
    session.execute(sa.delete(RecordParticipant).where(RecordParticipant.record_id.in_(care_ids)))
    session.execute(sa.delete(Rating).where(Rating.record_id.in_(records)))
    session.execute(sa.delete(RatingRequest).where(RatingRequest.record_id.in_(records)))
    keys = {photo.storage_key for photo in evidence if photo.storage_key}
    for photo in evidence:
        session.delete(photo)
    session.add(
        AuditEntry(
            at=now,
            actor_id=None,
            action="retention",
            entity="academic_year",
            entity_id=",".join(report.years),
            after={
                "care_notes": report.care_notes,
                "ratings": report.ratings,
                "rating_requests": report.rating_requests,
                "evidence_files": report.evidence_files,
            },
        )
    )
    session.flush()
    still_used = set(
        session.scalars(
            sa.select(EvidenceFile.storage_key).where(EvidenceFile.storage_key.in_(keys))
        )
    )
    for key in sorted(keys - still_used):  # before the commit: a failure here changes nothing
        store.delete(key)
    return report


def _count(session: so.Session, query: sa.Select) -> int:  # type: ignore[type-arg]
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


# -- one person's data ------------------------------------------------------------------


def export_person(session: so.Session, userid: str, target: Path) -> int:
    """Everything stored about ``userid`` as a workbook; returns the number of rows written.

    Care notes are not decrypted here: the sheet says a care record exists and when.
    """
    person = session.scalar(sa.select(Person).where(Person.userid == userid))
    if person is None:
        raise LookupError(f"没有企业微信账号为“{userid}”的人员")
    book = Workbook()
    sheets: dict[str, tuple[list[str], list[list[object]]]] = {
        "人员": (
            ["企业微信账号", "编号", "姓名", "类别", "所在单位", "专业", "年级", "在册", "角色"],
            [
                [
                    person.userid,
                    person.number,
                    person.name,
                    person.kind.value,
                    person.unit.name if person.unit else "",
                    person.major or "",
                    person.grade or "",
                    "是" if person.active else "否",
                    "、".join(sorted(grant.role.value for grant in person.roles)),
                ]
            ],
        ),
        "导师分配": (
            ["学年", "身份", "考核学院或导师"],
            [
                [a.year.code, "导师", a.college.name]
                for a in session.scalars(
                    sa.select(MentorAssignment).where(MentorAssignment.mentor_id == person.id)
                )
            ]
            + [
                [ms.assignment.year.code, "学生", ms.assignment.mentor.name]
                for ms in session.scalars(
                    sa.select(MentorStudent).where(MentorStudent.student_id == person.id)
                )
            ],
        ),
        "作为导师的记录": (
            ["编号", "类型", "时间", "标题", "地点", "指标", "已删除"],
            [
                [
                    r.id,
                    r.kind.value,
                    r.occurred_at.isoformat(),
                    r.title,
                    r.place or "",
                    ",".join(r.items),
                    "是" if r.deleted_at else "",
                ]
                for r in session.scalars(
                    sa.select(Record)
                    .where(Record.mentor_id == person.id)
                    .order_by(Record.occurred_at)
                )
            ],
        ),
        "参与的记录": (
            ["记录编号", "类型", "时间", "导师"],
            [
                [r.id, r.kind.value, r.occurred_at.isoformat(), r.mentor.name]
                for r in session.scalars(
                    sa.select(Record)
                    .join(RecordParticipant)
                    .where(RecordParticipant.student_id == person.id)
                    .order_by(Record.occurred_at)
                )
            ],
        ),
        "本人的评价": (
            ["记录编号", "满意度等级", "是否参加", "时间"],
            [
                [g.record_id, g.level or "", "是" if g.attended else "否", g.created_at.isoformat()]
                for g in session.scalars(sa.select(Rating).where(Rating.student_id == person.id))
            ],
        ),
        "考核分数": (
            ["考核", "指标", "来源", "分数", "时间"],
            [
                [s.cycle_id, s.item, s.source.value, str(s.score), s.given_at.isoformat()]
                for s in session.scalars(
                    sa.select(ItemScore).where(ItemScore.mentor_id == person.id)
                )
            ],
        ),
        "异议": (
            ["考核", "内容", "状态", "提出时间", "答复"],
            [
                [o.cycle_id, o.text, o.status.value, o.created_at.isoformat(), o.answer or ""]
                for o in session.scalars(
                    sa.select(Objection).where(Objection.mentor_id == person.id)
                )
            ],
        ),
        "操作记录": (
            ["时间", "操作", "对象", "对象编号"],
            [
                [e.at.isoformat(), e.action, e.entity, e.entity_id]
                for e in session.scalars(
                    sa.select(AuditEntry)
                    .where(AuditEntry.actor_id == person.id)
                    .order_by(AuditEntry.at)
                )
            ],
        ),
    }
    book.remove(book.active)
    rows = 0
    for title, (header, body) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in body:
            sheet.append([_safe(value) for value in row])
            rows += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return rows


def _safe(value: object) -> object:
    """Cells that a spreadsheet would run as a formula are kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
