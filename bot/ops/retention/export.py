"""One person's data (``flask --app bot retention export USERID FILE``): everything the
database holds about them, as a workbook, care notes withheld."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from openpyxl import Workbook

from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    EvidenceFile,
    ItemScore,
    MentorAssignment,
    MentorStudent,
    Objection,
    OutboxMessage,
    OutboxStatus,
    Person,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
    ResultSnapshot,
    ResultsReason,
)
from bot.core.rubrics import items_counted
from bot.cycle.workbook import escape_cell

CARE_NOTE_WITHHELD = "加密，需单独申请"
PREVIEW_CHARS = 60


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
