"""Closing a cycle (结束考核): the final results stored, read-only from then on. Refused
while objections are unanswered, before the objection period ends, or while a mentor's result
is incomplete (naming them); ``结束考核 强制 原因`` closes anyway and the audit log records
who closed, why, and which mentors were left incomplete."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    Objection,
    ObjectionStatus,
    Person,
    ResultsReason,
    Role,
)
from bot.cycle import oversight
from bot.cycle.cycles import CycleError, Env, audit
from bot.cycle.publication import (
    announce,
    objections_until_text,
    send_results_workbook,
    store_results,
)
from bot.cycle.results import Member, current
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids

TOLD = "导师、学院负责人、单位负责人、人力资源处和教务处"


def close(
    session: so.Session,
    cycle: AssessmentCycle,
    *,
    actor: Person | None,
    now: datetime,
    env: Env,
    force: bool = False,
    reason: str = "",
) -> str:
    if cycle.status == CycleStatus.CLOSED:
        return "本次考核已经结束。"
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("考核还没有公示，不能结束。")
    open_objections = session.scalar(
        sa.select(sa.func.count(Objection.id)).where(
            Objection.cycle_id == cycle.id, Objection.status == ObjectionStatus.OPEN
        )
    )
    if open_objections:
        raise CycleError(f"还有 {open_objections} 条异议没有答复，请先答复。")
    reason = reason.strip()
    early = cycle.objections_until is not None and now <= cycle.objections_until
    until = objections_until_text(cycle, env.zone)
    if early and not (force and reason):
        raise CycleError(
            f"异议期至 {until}，异议期内不能结束考核。如确需提前结束，"
            "请发送“结束考核 强制 原因”（原因将记录在案）。"
        )
    published = current(session, cycle)
    incomplete = [m for m in published.members if published.of(m.person.id).total is None]
    if incomplete and not force:
        raise CycleError(
            f"还有 {len(incomplete)} 位导师结果未完成：{names(incomplete)}。"
            "逾期学院的评分可由书院部在该学院评分页补录；如仍要结束，请发送“结束考核 强制”"
            "（将记录结束人和未完成的导师）。"
        )
    cycle.status = CycleStatus.CLOSED  # the stored results: closing recomputes nothing
    cycle.closed_at = now
    forced = {
        "forced": True,
        "reason": reason,
        "early": early,
        "incomplete": [
            {"id": m.person.id, "number": m.person.number, "name": m.person.name,
             "college": m.college.name}
            for m in incomplete
        ],
    }  # fmt: skip
    audit(
        session, actor=actor, action="close", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after=forced if force else None,
    )  # fmt: skip
    store_results(session, cycle, published, reason=ResultsReason.CLOSE, actor=actor, now=now)
    announce(session, cycle, published, now=now, env=env, stage="close")
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    attached = "全校最终结果表见下一条消息；" if env.files is not None else ""
    who = actor.name if actor else "命令行"
    note = ""
    if early:
        note += f"\n{who}在异议期内（至 {until}）强制结束，原因：{reason}"
    if incomplete:
        note += f"\n{who}强制结束，{len(incomplete)} 位导师结果未完成：{names(incomplete)}"
    outbox.enqueue(
        session, office,
        Message.markdown(
            f"**{cycle.year.code} 学年导师考核已结束**\n结果已确定，已发送给{TOLD}。"
            f"{attached}导出优秀导师名单、历年记录等请发送“导出”。{note}"
        ),
        key=f"cycle:{cycle.id}:close:office", now=now,
    )  # fmt: skip
    send_results_workbook(session, cycle, office, now=now, env=env, stage="close")
    oversight.closed(session, cycle, note=note.strip(), now=now, env=env)
    return f"考核已结束，结果已确定并发送给{TOLD}。导出：发送“导出”。" + note


def names(people: list[Member], limit: int = 10) -> str:
    """``王老师（数字经济学院）、…`` and how many more."""
    shown = "、".join(f"{m.person.name}（{m.college.name}）" for m in people[:limit])
    return shown + (f" 等 {len(people)} 位" if len(people) > limit else "")
