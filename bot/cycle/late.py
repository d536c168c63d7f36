"""A late college (逾期学院) after 公示: the office accepts its workbook, each score it adds or
changes recorded as a correction with the office's reason; the college then counts as
submitted, the results are computed and stored again, the college's mentors get their result
cards, its heads the ranking with the outstanding mentors, its administrators and the office
a note."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy.orm as so

from bot.core.models import (
    AssessmentCycle,
    Correction,
    ItemScore,
    Person,
    ResultsReason,
    Role,
    Submission,
    Unit,
)
from bot.cycle import oversight
from bot.cycle.cycles import OBJECTION_WORKING_DAYS, CycleError, Env, audit
from bot.cycle.publication import (
    add_working_days,
    announce,
    send_college_digest,
    store_results,
)
from bot.cycle.results import compute, current, fingerprint, members, saved_scores
from bot.cycle.submissions import Change, Scope, is_late
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids

LATE_REASON = "逾期补录的学院评分"


def accept_late_college(
    session: so.Session,
    cycle: AssessmentCycle,
    scope: Scope,
    changes: list[Change],
    *,
    reason: str,
    actor: Person,
    now: datetime,
    env: Env,
) -> str:
    """Save a late college's checked workbook as corrections and publish its results."""
    reason = reason.strip()
    if not reason:
        raise CycleError("补录逾期学院的评分必须写明原因。")
    if scope.college_id is None or not is_late(session, cycle, scope):
        raise CycleError("只有公示时尚未提交的学院，可以在结束考核前由书院部补录评分。")
    college = session.get(Unit, scope.college_id)
    if college is None:
        raise CycleError("没有这个学院。")
    before = current(session, cycle)
    people = {m.person.number: m.person for m in members(session, cycle, scope.college_id)}
    saved = saved_scores(session, cycle, scope.source)
    why = f"{LATE_REASON}：{reason}"[:1000]
    for change in changes:
        person = people[change.number]
        tenths = int(change.new * 10)
        score = saved.get((person.id, change.item, scope.source))
        old = None if score is None else score.tenths
        if score is None:
            score = ItemScore(
                cycle_id=cycle.id, mentor_id=person.id, item=change.item, source=scope.source,
                tenths=tenths, note=change.note, given_by_id=actor.id, given_at=now,
            )  # fmt: skip
            session.add(score)
        else:
            score.tenths, score.given_by_id, score.given_at = tenths, actor.id, now
            score.note = change.note
        session.flush()
        session.add(
            Correction(
                item_score_id=score.id, old_tenths=old, new_tenths=tenths, reason=why,
                corrected_by_id=actor.id, corrected_at=now,
            )
        )  # fmt: skip
        audit(
            session, actor=actor, action="correct", entity="item_score", entity_id=score.id,
            now=now, before=None if old is None else {"tenths": old},
            after={"mentor_id": person.id, "item": change.item, "tenths": tenths, "reason": why},
        )  # fmt: skip
    session.add(
        Submission(
            cycle_id=cycle.id, step=scope.step, subject_id=scope.subject_id,
            submitted_by_id=actor.id, submitted_at=now,
        )
    )  # fmt: skip
    extended = extend_objections(cycle, now=now, env=env)
    audit(
        session, actor=actor, action="accept_late", entity="assessment_cycle", entity_id=cycle.id,
        now=now,
        after={
            "college_id": college.id, "scores": len(changes), "reason": reason,
            "objections_until": extended,
        },
    )  # fmt: skip
    session.flush()
    after = compute(session, cycle)
    store_results(session, cycle, after, reason=ResultsReason.CORRECT, actor=actor, now=now)
    changed = {
        m.person.id
        for m in after.members
        if not before.has(m.person.id)
        or fingerprint(after.of(m.person.id)) != fingerprint(before.of(m.person.id))
    }
    stage = f"change-late-{college.id}-{now.timestamp()}"
    announce(session, cycle, after, now=now, env=env, stage=stage, only=changed)
    send_college_digest(session, cycle, after, college, now=now, env=env, stage=f"late-{stage}")
    group = [m for m in after.members if m.college.id == college.id]
    done = sum(after.of(m.person.id).total is not None for m in group)
    best = [m.person.name for m in group if after.of(m.person.id).outstanding]
    note = (
        f"{college.name}的逾期评分已由书院部补录（{len(changes)} 项，原因：{reason}）。"
        f"本学院 {done}/{len(group)} 位导师结果已完成，优秀导师：{'、'.join(best) or '无'}。"
    )
    if extended:
        note += f"异议期延长至 {extended}，本学院导师可在此前提出异议。"
    admins = holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college.id)
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    outbox.enqueue(
        session, sorted(set(admins) | set(office)), Message.text(note),
        key=f"cycle:{cycle.id}:late:{college.id}", now=now,
    )  # fmt: skip
    oversight.notify(
        session, cycle,
        [
            f"**{cycle.year.code} 学年导师考核结果已更正**", note,
            f"结果有变化的导师 {len(changed)} 位。",
        ],
        key=f"cycle:{cycle.id}:late:{college.id}:oversight", now=now, env=env,
    )  # fmt: skip
    return note


def extend_objections(cycle: AssessmentCycle, *, now: datetime, env: Env) -> str | None:
    """A late college's mentors get the whole objection period from now: the period is
    extended when it would end sooner; the new last day (``9月18日``), or None."""
    until = add_working_days(now.astimezone(env.zone).date(), OBJECTION_WORKING_DAYS)
    ends = datetime.combine(until, time(23, 59, 59), tzinfo=env.zone)
    if cycle.objections_until is not None and cycle.objections_until >= ends:
        return None
    cycle.objections_until = ends
    return f"{until.month}月{until.day}日"
