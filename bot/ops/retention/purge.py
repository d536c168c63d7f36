"""Retention (default: 3 academic years after a year's assessment cycle closed): care notes and
the places of those talks are erased and their records detached from the student, individual
ratings and rating requests are deleted, evidence files are deleted from storage and the
database, and so are the stored progress pictures and charts drawn from those years, with the
finished messages that sent them (``bot.ops.retention.pictures``: the rules set no period for
such derived files, so they keep the one of the records they are drawn from). Records, item
scores and results stay: they are the aggregates and final results the university keeps. This
is a deliberate operator command (``flask --app bot retention purge``), never scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    EvidenceFile,
    Rating,
    RatingRequest,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.core.storage import FileStore
from bot.ops.retention.pictures import delete_files, delete_messages, expired_pictures
from bot.ops.retention.prune import count_rows

log = structlog.get_logger("bot.ops.retention")


@dataclass
class RetentionReport:
    years: list[str]
    care_notes: int = 0
    ratings: int = 0
    rating_requests: int = 0
    evidence_files: int = 0
    pictures: int = 0

    def lines(self) -> list[str]:
        if not self.years:
            return ["没有超过保留期限的学年。"]
        return [
            f"超过保留期限的学年：{'、'.join(self.years)}",
            f"关爱记录（删除内容并解除与学生的关联）：{self.care_notes} 条",
            f"学生个人评价：{self.ratings} 条；评价请求：{self.rating_requests} 条",
            f"佐证文件：{self.evidence_files} 个",
            f"进度图片和图表：{self.pictures} 个",
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
        # any personal field left: a care record without a note still names its student, and
        # one purged before the place was cleared still says where the talk took place
        sa.or_(
            Record.sensitive_note.is_not(None),
            Record.note.is_not(None),
            Record.place.is_not(None),
            Record.participants.any(),
        ),
    )
    report.care_notes = count_rows(session, care)
    report.ratings = count_rows(session, sa.select(Rating.id).where(Rating.record_id.in_(records)))
    report.rating_requests = count_rows(
        session, sa.select(RatingRequest.id).where(RatingRequest.record_id.in_(records))
    )
    evidence = list(
        session.scalars(sa.select(EvidenceFile).where(EvidenceFile.record_id.in_(records)))
    )
    report.evidence_files = len(evidence)
    pictures = expired_pictures(session, store, years)  # before any change: it lists the store
    report.pictures = len(pictures.keys)
    if dry_run:
        return report
    care_ids = list(session.scalars(care))
    session.execute(
        sa.update(Record)
        .where(Record.id.in_(care_ids))
        .values(sensitive_note=None, note=None, place=None, updated_at=now)
    )
    session.execute(sa.delete(RecordParticipant).where(RecordParticipant.record_id.in_(care_ids)))
    session.execute(sa.delete(Rating).where(Rating.record_id.in_(records)))
    session.execute(sa.delete(RatingRequest).where(RatingRequest.record_id.in_(records)))
    keys = {photo.storage_key for photo in evidence if photo.storage_key}
    for photo in evidence:
        session.delete(photo)
    delete_messages(session, pictures)
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
                "pictures": report.pictures,
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
    delete_files(store, pictures)
    return report


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)
