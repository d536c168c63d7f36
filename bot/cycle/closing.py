"""Closing a cycle (结束考核): the final results stored, read-only from then on."""

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
from bot.cycle.cycles import CycleError, Env, audit
from bot.cycle.publication import announce, send_results_workbook, store_results
from bot.cycle.results import current
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids


def close(
    session: so.Session, cycle: AssessmentCycle, *, actor: Person | None, now: datetime, env: Env
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
    published = current(session, cycle)  # the stored results: closing recomputes nothing
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now
    audit(
        session, actor=actor, action="close", entity="assessment_cycle", entity_id=cycle.id, now=now
    )
    store_results(session, cycle, published, reason=ResultsReason.CLOSE, actor=actor, now=now)
    announce(session, cycle, published, now=now, env=env, stage="close")
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    attached = "全校最终结果表见下一条消息；" if env.files is not None else ""
    outbox.enqueue(
        session, office,
        Message.markdown(
            f"**{cycle.year.code} 学年导师考核已结束**\n结果已确定，已发送给导师、学院负责人和"
            f"单位负责人。{attached}导出优秀导师名单、历年记录等请发送“导出”。"
        ),
        key=f"cycle:{cycle.id}:close:office", now=now,
    )  # fmt: skip
    send_results_workbook(session, cycle, office, now=now, env=env, stage="close")
    return "考核已结束，结果已确定并发送给导师、学院负责人和单位负责人。导出：发送“导出”。"
