"""Saving a finished guided flow: the record, its photos, and what the mentor is told."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.orm as so

from bot.core.models import RECORD_KIND_NAMES, AcademicYear, Person, Record, RecordKind
from bot.core.rubrics import counted_items
from bot.records import evidence
from bot.records.answers import Refusal
from bot.records.care import unseal
from bot.records.dates import DateError, check_moment
from bot.records.flow import NEEDS_STUDENTS, Flow, Situation
from bot.records.questions import moment_of, summary_fields
from bot.records.service import NewRecord, create_record
from bot.records.year_note import year_note

UNREADABLE = "这次填写的内容已无法读取，没有保存。请重新记录。"


@dataclass(frozen=True)
class Saved:
    record: Record
    text: str  # what the mentor is told


def save_flow(
    session: so.Session,
    flow: Flow,
    situation: Situation,
    *,
    mentor: Person,
    year: AcademicYear,
) -> Saved | Refusal:
    """Write the record a complete flow describes (in the caller's transaction), or refuse: a
    moment outside the year (the flow stays), a care note sealed with a replaced key (it ends).
    """
    kind = RecordKind(flow.kind)
    moment = moment_of(flow, situation)
    try:
        check_moment(moment, situation.now, situation.year_starts, situation.year_ends)
        note = (
            flow.note if flow.sealed_note is None else unseal(situation.care_key, flow.sealed_note)
        )
    except DateError as exc:
        return Refusal(str(exc))
    except ValueError:  # sealed with a key that has since been replaced
        return Refusal(UNREADABLE, ends=True)
    new = NewRecord(
        kind=kind,
        occurred_at=moment,
        student_ids=list(flow.student_ids) if kind in NEEDS_STUDENTS else [],
        title=flow.title,
        place=flow.place,
        online=flow.online,
        note=note,
    )
    now = situation.now
    record = create_record(
        session, mentor=mentor, year=year, new=new, care_key=situation.care_key, now=now
    )
    for media_id in flow.media_ids:
        evidence.attach_photo(session, record, media_id, owner=mentor, now=now)
    items = counted_items(session, record)
    done = RECORD_KIND_NAMES[kind].removesuffix("记录")  # 已记录关爱, not 已记录关爱记录
    lines = [f"已记录{done}（计入考核指标 {items}）"]
    if note := year_note(session, year):
        lines.append(note)
    lines.extend(f"{name}：{value}" for name, value in summary_fields(flow, situation))
    if flow.media_ids:
        lines.append(f"佐证照片：{len(flow.media_ids)} 张")
    lines.append("")
    lines.append("30分钟内发送照片可作为这条记录的佐证；发送“记录”查看或修改。")
    return Saved(record, "\n".join(lines))
