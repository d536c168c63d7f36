"""Objections (异议) and corrections (更正) during the objection period: raised by a mentor,
answered by the office, every correction recorded with its reason and the results stored again."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.echo import echo
from bot.core.models import (
    AssessmentCycle,
    Correction,
    CycleStatus,
    ItemScore,
    Objection,
    ObjectionStatus,
    Person,
    ResultsReason,
    Role,
)
from bot.core.rubrics import example_item
from bot.cycle import oversight
from bot.cycle.cycles import CycleError, Env, audit
from bot.cycle.publication import announce, store_results
from bot.cycle.results import (
    Results,
    compute,
    current,
    fingerprint,
    rubric_of,
    source_of,
)
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids
from scoring.numbers import fmt


def check_may_object(
    session: so.Session, cycle: AssessmentCycle, mentor: Person, *, now: datetime
) -> Results:
    """The published results, if ``mentor`` may object now; else CycleError saying why."""
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("现在不在考核结果公示期，不能提出异议。")
    if cycle.objections_until is not None and now > cycle.objections_until:
        raise CycleError("异议期已经结束。")
    published = current(session, cycle)
    if not published.has(mentor.id):
        raise CycleError("您不在本次考核的导师名单中。")
    return published


def raise_objection(
    session: so.Session, cycle: AssessmentCycle, mentor: Person, text: str, *, now: datetime
) -> Objection:
    published = check_may_object(session, cycle, mentor, now=now)
    member = published.member(mentor.id)
    objection = Objection(
        cycle_id=cycle.id, mentor_id=mentor.id, text=text[:2000],
        status=ObjectionStatus.OPEN, created_at=now,
    )  # fmt: skip
    session.add(objection)
    session.flush()
    audit(
        session, actor=mentor, action="object", entity="objection", entity_id=objection.id,
        now=now, after={"cycle_id": cycle.id},
    )  # fmt: skip
    example = example_item(rubric_of(cycle))
    notice = Message.text(
        f"收到异议 #{objection.id}：{mentor.name}（{mentor.number}，{member.college.name}）\n"
        f"{objection.text[:600]}\n"
        f"书院部答复：答复 {objection.id} 答复内容\n"
        f"如需更正分数：更正 {objection.id} 项目 新分数 原因"
        f"（例：更正 {objection.id} {example} 4.5 已核实学期计划）"
    )
    office = set(holder_userids(session, Role.ACADEMY_ADMIN))
    college = set(holder_userids(session, Role.COLLEGE_ADMIN, unit_id=member.college.id))
    outbox.enqueue(
        session, sorted(office | college), notice, key=f"objection:{objection.id}", now=now
    )
    return objection


def answer_objection(
    session: so.Session, objection_id: int, text: str, *, actor: Person, now: datetime
) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise CycleError(f"没有编号为 {objection_id} 的异议。")
    objection.status = ObjectionStatus.ANSWERED
    objection.answer = text[:2000]
    objection.answered_by_id = actor.id
    objection.answered_at = now
    audit(
        session, actor=actor, action="answer", entity="objection", entity_id=objection.id, now=now
    )
    mentor = session.get(Person, objection.mentor_id)
    if mentor is not None:
        outbox.enqueue(
            session,
            [mentor.userid],
            Message.text(f"书院部对您的异议 #{objection.id} 的答复：\n{objection.answer}"),
            key=f"objection:{objection.id}:answer:{now.timestamp()}",
            now=now,
        )
    return objection


def correct(
    session: so.Session,
    cycle: AssessmentCycle,
    *,
    mentor: Person,
    item: str,
    value: Decimal,
    reason: str,
    actor: Person,
    now: datetime,
    env: Env,
    objection: Objection | None = None,
    achieved: bool | None = None,
) -> list[int]:
    """Change one saved score with a written reason; recompute and tell everyone whose
    result changed. Returns the ids of those mentors. A bonus item is corrected to achieved
    or not (``achieved``, 是/否): the reason then names the competition or paper."""
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("只有公示期内可以更正分数；考核结束后结果不能再修改。")
    reason = reason.strip()
    if not reason:
        raise CycleError("更正分数必须写明原因。")
    rubric = rubric_of(cycle)
    spec = rubric.item_by_id.get(item)
    if spec is None or rubric.role_of(item) == "satisfaction":
        raise CycleError(f"“{echo(item)}”不是可以更正的考核项。")
    bonus = rubric.role_of(item) == "bonus"
    if achieved is not None and not bonus:
        raise CycleError(f"{item} 不是加分项，请写分数。")
    if bonus:
        if achieved is None and value not in (Decimal(0), spec.max):
            raise CycleError(f"{item} 为加分项，只能更正为“是”或“否”（达成即加分）。")
        achieved = value == spec.max if achieved is None else achieved
        value = spec.max if achieved else Decimal(0)
    if not (Decimal(0) <= value <= spec.max) or value != value.quantize(Decimal("0.1")):
        raise CycleError(f"{item} 的分数须在 0–{fmt(spec.max)} 之间，最多一位小数。")
    source = source_of(rubric, item)
    score = session.scalar(
        sa.select(ItemScore).where(
            ItemScore.cycle_id == cycle.id, ItemScore.mentor_id == mentor.id,
            ItemScore.item == item, ItemScore.source == source,
        )
    )  # fmt: skip
    if score is None:
        raise CycleError(f"{mentor.name} 的 {item} 还没有评分，无法更正。")
    before = current(session, cycle)  # as published or last corrected
    tenths = int(value * 10)
    correction = Correction(
        item_score_id=score.id, objection_id=objection.id if objection else None,
        old_tenths=score.tenths, new_tenths=tenths, reason=reason[:1000],
        corrected_by_id=actor.id, corrected_at=now,
    )  # fmt: skip
    session.add(correction)
    audit(
        session, actor=actor, action="correct", entity="item_score", entity_id=score.id, now=now,
        before={"tenths": score.tenths}, after={"tenths": tenths, "reason": reason[:1000]},
    )  # fmt: skip
    score.tenths, score.given_by_id, score.given_at = tenths, actor.id, now
    if bonus:
        score.note = reason[:200] if achieved else None
    session.flush()
    after = compute(session, cycle)  # the objection period: the only recomputation after 公示
    store_results(
        session, cycle, after, reason=ResultsReason.CORRECT, actor=actor, now=now,
        correction=correction,
    )  # fmt: skip
    changed = {
        m.person.id
        for m in after.members
        if not before.has(m.person.id)
        or fingerprint(after.of(m.person.id)) != fingerprint(before.of(m.person.id))
    }
    announce(
        session, cycle, after, now=now, env=env, stage=f"change-{score.id}-{now.timestamp()}",
        only=changed,
    )  # fmt: skip
    member = after.member(mentor.id) if after.has(mentor.id) else None
    shown = f"{fmt(Decimal(correction.old_tenths) / 10)} → {fmt(value)}"
    oversight.corrected(
        session, cycle,
        what=f"{mentor.name}（{member.college.name if member else '—'}）{item}：{shown}",
        reason=reason, changed=len(changed), correction_id=correction.id, now=now, env=env,
    )  # fmt: skip
    return sorted(changed)
