"""Personal data: retention after the cycle closes, pruning of sent messages and processed
callbacks, and one person's data export.

Retention (default: 3 academic years after a year's assessment cycle closed): care notes and
the places of those talks are erased and their records detached from the student, individual
ratings and rating requests are deleted, evidence files are deleted from storage and the
database, and so are the stored progress pictures and charts drawn from those years, with the
finished messages that sent them (``bot.retention_pictures``: the rules set no period for
such derived files, so they keep the one of the records they are drawn from). Records, item
scores and results stay: they are the aggregates and final results the university keeps. This
is a deliberate operator command (``flask --app bot retention purge``), never scheduled.

Pruning (every night by the scheduler job ``outbox_prune``, and with ``retention purge``):
outbox rows are message texts (rating thank-yous, objections, replies quoting records, names),
so a finished row (sent, failed permanently, dead letter) goes ``OUTBOX_KEEP_DAYS`` after its
last attempt; a pending or sending row is never touched. ``processed_callback`` rows go after
``CALLBACK_KEEP_DAYS``: WeCom retries a callback within seconds and the Redis mark in front of
the table lasts a day, so a week is ample. Both deletes are set-based, in batches of their own
transactions, and re-check the condition in the DELETE itself, so a row that a sender or
``outbox retry-dead`` changes meanwhile is left alone. ``overdue_escalation`` rows are kept:
they are what keeps a pruned escalation from being sent again, and hold only ids and a time
(no name, no recipient), so neither retention nor the person export touches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog
from openpyxl import Workbook

from bot.cycle.workbook import escape_cell
from bot.db import Database
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
    OutboxMessage,
    OutboxStatus,
    Person,
    ProcessedCallback,
    Rating,
    RatingRequest,
    Record,
    RecordKind,
    RecordParticipant,
    ResultSnapshot,
    ResultsReason,
)
from bot.retention_pictures import delete_files, delete_messages, expired_pictures
from bot.rubrics import items_counted
from bot.storage import FileStore

log = structlog.get_logger("bot.retention")

#: Outbox statuses nothing changes any more (``outbox retry-dead`` aside).
FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD)
CALLBACK_KEEP_DAYS = 7
PRUNE_BATCH = 5000
CARE_NOTE_WITHHELD = "加密，需单独申请"
PREVIEW_CHARS = 60


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
    report.care_notes = _count(session, care)
    report.ratings = _count(session, sa.select(Rating.id).where(Rating.record_id.in_(records)))
    report.rating_requests = _count(
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


def _count(session: so.Session, query: sa.Select) -> int:  # type: ignore[type-arg]
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


# -- sent messages and processed callbacks -----------------------------------------------


@dataclass(frozen=True)
class PruneReport:
    outbox_keep_days: int
    outbox: int = 0
    callbacks: int = 0

    def lines(self) -> list[str]:
        return [
            f"已结束的消息（已发送、发送失败、死信，最后一次发送超过 {self.outbox_keep_days} 天）："
            f"{self.outbox} 条",
            f"回调去重记录（超过 {CALLBACK_KEEP_DAYS} 天）：{self.callbacks} 条",
        ]


def old_outbox(now: datetime, keep_days: int) -> sa.ColumnElement[bool]:
    """Finished rows whose last attempt ended more than ``keep_days`` before ``now``.

    Every claim moves ``available_at`` to the end of the sender's lease and a finished row is
    never claimed again, so for a sent, failed or dead row it is (a lease after) its last
    attempt: a dead letter is kept ``keep_days`` after it died, however old, and one put back
    by ``outbox retry-dead`` is pending again, with ``available_at`` now. The condition uses
    the index on (status, available_at)."""
    cutoff = now - timedelta(days=keep_days)
    return sa.and_(
        OutboxMessage.status.in_(FINISHED),
        OutboxMessage.available_at < cutoff,
        OutboxMessage.created_at < cutoff,
    )


def old_callbacks(now: datetime) -> sa.ColumnElement[bool]:
    return ProcessedCallback.received_at < now - timedelta(days=CALLBACK_KEEP_DAYS)


def prune_messages(
    database: Database,
    now: datetime,
    *,
    outbox_keep_days: int,
    dry_run: bool = False,
    batch: int = PRUNE_BATCH,
) -> PruneReport:
    """Delete finished outbox rows and processed callbacks past their period (with
    ``dry_run`` only count them). Each batch is its own transaction; safe while senders run."""
    outbox = old_outbox(now, outbox_keep_days)
    callbacks = old_callbacks(now)
    if dry_run:
        with database.session() as session:
            return PruneReport(
                outbox_keep_days,
                outbox=_count(session, sa.select(OutboxMessage.id).where(outbox)),
                callbacks=_count(session, sa.select(ProcessedCallback.id).where(callbacks)),
            )
    report = PruneReport(
        outbox_keep_days,
        outbox=_delete_in_batches(database, OutboxMessage, outbox, batch),
        callbacks=_delete_in_batches(database, ProcessedCallback, callbacks, batch),
    )
    log.info("retention_pruned", outbox=report.outbox, callbacks=report.callbacks)
    return report


def _delete_in_batches(
    database: Database,
    model: type[OutboxMessage] | type[ProcessedCallback],
    condition: sa.ColumnElement[bool],
    batch: int,
) -> int:
    """DELETE the rows of ``model`` matching ``condition``, ``batch`` ids at a time in id
    order. Nothing is loaded but the batch's highest id; the DELETE repeats ``condition``,
    so a row changed since the SELECT (a dead letter queued again) is not deleted."""
    deleted, after = 0, 0
    while True:
        with database.session() as session:
            ids = (
                sa.select(model.id)
                .where(condition, model.id > after)
                .order_by(model.id)
                .limit(batch)
                .subquery()
            )
            upper = session.scalar(sa.select(sa.func.max(ids.c.id)))
            if upper is None:
                return deleted
            result = session.execute(
                sa.delete(model)
                .where(model.id > after, model.id <= upper, condition)
                .execution_options(synchronize_session=False)
            )
            deleted += result.rowcount or 0  # type: ignore[attr-defined]
        after = upper


def current_outbox_keep_days() -> int:
    """OUTBOX_KEEP_DAYS of the running app, else of the environment, else the default."""
    from flask import current_app, has_app_context

    from bot.settings import Settings, SettingsError, load_settings

    if has_app_context():
        return int(current_app.extensions["settings"].OUTBOX_KEEP_DAYS)
    try:
        return load_settings().OUTBOX_KEEP_DAYS
    except SettingsError:
        return int(Settings.model_fields["OUTBOX_KEEP_DAYS"].default)


def prune_job(database: Database, now: datetime, **_: Any) -> int:
    """The scheduler's nightly entry (``outbox_prune``): :func:`prune_messages` with
    OUTBOX_KEEP_DAYS (the setting only, validated, never a schedule parameter). Idempotent: a
    second run finds nothing left. It adds no message, so it returns 0."""
    prune_messages(database, now, outbox_keep_days=current_outbox_keep_days())
    return 0


# -- one person's data ------------------------------------------------------------------


_RESULTS_REASONS = {
    ResultsReason.PUBLISH: "公示",
    ResultsReason.CORRECT: "异议期更正",
    ResultsReason.CLOSE: "最终结果",
    ResultsReason.BACKFILL: "补存",
}


def _results_of(session: so.Session, person_id: int) -> list[list[object]]:
    """The person's line in every stored result (publication, corrections, closing), oldest
    first; the other mentors' lines stay out."""
    rows: list[list[object]] = []
    snapshots = session.scalars(
        sa.select(ResultSnapshot)
        .options(so.joinedload(ResultSnapshot.cycle).joinedload(AssessmentCycle.year))
        .order_by(ResultSnapshot.id)
    )
    for snapshot in snapshots:
        for line in snapshot.mentors:
            if line.get("person_id") != person_id:
                continue
            rows.append(
                [
                    snapshot.cycle.year.code,
                    _RESULTS_REASONS[snapshot.reason],
                    snapshot.stored_at.isoformat(),
                    line.get("college") or "",
                    "完整" if line.get("status") == "complete" else "不完整",
                    *(
                        line.get(part) or ""
                        for part in (
                            "college_points",
                            "academy_points",
                            "satisfaction",
                            "satisfaction_points",
                            "bonus_points",
                            "total",
                            "rank",
                        )
                    ),
                    "是" if line.get("outstanding") else "否",
                ]
            )
    return rows


def export_person(session: so.Session, userid: str, target: Path, *, now: datetime) -> int:
    """Everything stored about ``userid`` as a workbook for the office; returns the number of
    rows written. The export is written to the audit log (who it was about, how many rows).

    Care notes are not decrypted here: the workbook leaves the system, and whoever reads it
    afterwards is not audited, so a care record shows ``CARE_NOTE_WITHHELD`` and its number;
    the office reads the note on the care-record page (``/m/care/<编号>``), where the read
    is checked and audited like every other. Stored files are listed, never copied."""
    person = session.scalar(sa.select(Person).where(Person.userid == userid))
    if person is None:
        raise LookupError(f"没有企业微信账号为“{userid}”的人员")
    written = session.scalars(
        sa.select(Record).where(Record.mentor_id == person.id).order_by(Record.occurred_at)
    ).all()
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
            ["编号", "类型", "时间", "标题", "地点", "指标", "内容", "已删除"],
            [
                [
                    r.id,
                    r.kind.value,
                    r.occurred_at.isoformat(),
                    r.title,
                    r.place or "",
                    ",".join(items_counted(session, r)),
                    record_note(r.kind, r.note, has_sensitive_note=r.sensitive_note is not None),
                    "是" if r.deleted_at else "",
                ]
                for r in written
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
        "考核结果": (
            [
                *("考核学年", "依据", "保存时间", "考核学院", "状态", "学院评分", "书院评分"),
                *("满意度（%）", "满意度得分", "加分", "总分", "学院排名", "优秀"),
            ],
            _results_of(session, person.id),
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
        "上传和佐证文件": (
            [
                *("编号", "文件名", "用途", "大小（字节）", "文件类型", "状态", "上传时间"),
                *("存储位置", "关联记录", "来源"),
            ],
            [
                [
                    f.id,
                    f.filename or "",
                    f.purpose,
                    f.size if f.size is not None else "",
                    f.content_type or "",
                    f.status.value,
                    f.created_at.isoformat(),
                    f.storage_key or "",
                    f.record_id or "",
                    "本人上传" if f.owner_id == person.id else "本人记录的佐证（他人上传）",
                ]
                for f in session.scalars(
                    sa.select(EvidenceFile)
                    .where(
                        sa.or_(
                            EvidenceFile.owner_id == person.id,
                            EvidenceFile.record_id.in_(
                                sa.select(Record.id).where(Record.mentor_id == person.id)
                            ),
                        )
                    )
                    .order_by(EvidenceFile.created_at, EvidenceFile.id)
                )
            ],
        ),
        "收到的消息": (
            ["生成时间", "发送时间", "类型", "状态", "内容摘要"],
            [
                [
                    m.created_at.isoformat(),
                    m.sent_at.isoformat() if m.sent_at else "",
                    m.msgtype,
                    OUTBOX_STATUS_NAMES[m.status],
                    message_preview(m.payload),
                ]
                for m in session.scalars(
                    sa.select(OutboxMessage)
                    .where(OutboxMessage.userid == person.userid)
                    .order_by(OutboxMessage.id)
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
    rows = write_workbook(sheets, target)
    session.add(
        AuditEntry(
            at=now,
            actor_id=None,
            action="export",
            entity="person",
            entity_id=str(person.id),
            before=None,
            after={"rows": rows, "sheets": list(sheets)},
        )
    )
    return rows


OUTBOX_STATUS_NAMES: dict[OutboxStatus, str] = {
    OutboxStatus.PENDING: "待发送",
    OutboxStatus.SENDING: "发送中",
    OutboxStatus.SENT: "已发送",
    OutboxStatus.FAILED: "发送失败",
    OutboxStatus.DEAD: "多次失败已停止",
}


def record_note(kind: RecordKind, note: str | None, *, has_sensitive_note: bool) -> str:
    """What the export shows of a record's note: the text, or, for any note of a care record
    (encrypted, or plain from before encryption), that it is withheld."""
    if has_sensitive_note or (kind == RecordKind.CARE and note):
        return CARE_NOTE_WITHHELD
    return note or ""


def message_preview(payload: dict[str, Any], limit: int = PREVIEW_CHARS) -> str:
    """A short line for an outbox payload: the text, a card's title, a file's name."""
    msgtype = str(payload.get("msgtype") or "")
    body = payload.get(msgtype)
    body = body if isinstance(body, dict) else {}
    if msgtype in ("text", "markdown"):
        text = str(body.get("content") or "")
    elif msgtype in ("image", "file"):
        text = f"[{'图片' if msgtype == 'image' else '文件'}] {body.get('filename') or ''}"
    elif msgtype == "update_template_card":
        text = "[更新卡片]"
    else:
        main = body.get("main_title")
        title = main.get("title") if isinstance(main, dict) else None
        text = f"[卡片] {title}" if msgtype == "template_card" and title else f"[{msgtype}]"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_workbook(
    sheets: Mapping[str, tuple[list[str], Iterable[list[object]]]], target: Path
) -> int:
    """One sheet per entry, every cell escaped; returns the number of body rows."""
    book = Workbook()
    book.remove(book.active)
    rows = 0
    for title, (header, body) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in body:
            sheet.append([escape_cell(value) for value in row])
            rows += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return rows
