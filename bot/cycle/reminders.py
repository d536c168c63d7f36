"""The assessment calendar's reminders (scheduled in ``scheduler/schedule.toml``; see
:mod:`bot.reminders`): the office is asked to open the year's cycle at the end of August, and
each open cycle's steps are reminded before their deadlines and escalated when overdue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.calendar import Rules, is_working_day, reminder_days
from bot.core.db import Database, InsertIgnoringConflicts
from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    MentorAssignment,
    OverdueEscalation,
    Person,
    Role,
    Submission,
    Unit,
    UnitKind,
)
from bot.cycle.cycles import ACADEMY_SUBJECT
from bot.outbox.queue import Message
from bot.records.service import current_year
from bot.reminders import MAX_NAMES, mentors_of, notify
from bot.roster.holders import holder_userids, unit_heads

log = structlog.get_logger("bot.cycle.reminders")


# --- assessment calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    audience: str  # "mentor" | "college" | "academy": who submits (Submission.subject_id)


# The steps of bot.cycle (AssessmentCycle.deadlines and Submission.step use these names); a
# deadline value is "YYYY-MM-DD" (or an ISO datetime, or {"due": "YYYY-MM-DD", "label": "…"}
# to rename the step in messages).
STEPS: dict[str, Step] = {
    "self": Step("提交自评与年度工作总结", "mentor"),
    "college": Step("学院评分并提交", "college"),
    "academy": Step("书院部 A 项评分并提交", "academy"),
}
HOW_TO_SELF_ASSESS = "请在企业微信中发送“我的考核”，打开自评页面并上传年度工作总结。"
HOW_TO_SCORE = "请发送“评分表”获取链接，上传评分表后发送“提交评分”。"


def parse_deadline(value: Any, zone: Any) -> tuple[date, str | None] | None:
    """A deadlines value → (the due day, a label override); None if unreadable."""
    label = None
    if isinstance(value, dict):
        label = value.get("label")
        value = value.get("due")
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value), label
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.date(), label


def opening_days(year_end: date, prompt_days: Sequence[str]) -> list[date]:
    """For each ``MM-DD`` in ``prompt_days``, the first working day on or after it in the
    year's last days (never after ``year_end``, the academic year's 31 August)."""
    days = []
    for text in prompt_days:
        month, day = (int(part) for part in text.split("-"))
        moment = date(year_end.year, month, day)
        while moment <= year_end and not is_working_day(moment):
            moment += timedelta(days=1)
        if moment <= year_end:
            days.append(moment)
    return days


def assessment_opening(
    database: Database,
    now: datetime,
    *,
    rules: Rules,
    prompt_days: Sequence[str] = ("08-20", "08-27"),
) -> int:
    """The cycle opens at the end of August: on the first working day on or after each of
    ``prompt_days``, the academy office is asked to open the assessment of the academic year
    that is ending, unless it is open already (or was opened and closed)."""
    today = rules.today(now)
    with database.session() as session:
        year = current_year(session, today)
        if year is None or today not in opening_days(year.ends_on, prompt_days):
            return 0
        opened = session.scalar(
            sa.select(sa.func.count())
            .select_from(AssessmentCycle)
            .where(AssessmentCycle.year_id == year.id)
        )
        if opened:
            return 0
        text = (
            f"【考核开启提醒】{year.code}学年将于{year.ends_on.month}月{year.ends_on.day}日结束，"
            f"导师年度考核应在8月底开启。请发送“开启考核 {year.code} 自评 日期 学院 日期 书院部 "
            f"日期”（例如：开启考核 {year.code} 自评 {year.ends_on.year}-09-05 学院 "
            f"{year.ends_on.year}-09-10 书院部 {year.ends_on.year}-09-12），"
            "开启后全体导师、各学院管理员和书院部会收到通知。"
        )
        return notify(
            session,
            holder_userids(session, Role.ACADEMY_ADMIN),
            Message.text(text),
            campaign="assessment_opening",
            period=f"{year.code}-{today.isoformat()}",
            now=now,
            rules=rules,
        )


def assessment_calendar(
    database: Database, now: datetime, *, rules: Rules, days_before: Sequence[int] = (3, 1)
) -> int:
    """Open cycles, on working days: reminders ``days_before`` each deadline (moved to the
    working day before a day off) to those who have not submitted; once overdue, the late
    are reminded every working day and their college head (the academy's head for the
    office) is told once who is late. Runs in vacations too (the cycle opens in August)."""
    today = rules.today(now)
    if not is_working_day(today):
        return 0
    added = 0
    with database.session() as session:
        cycles = session.scalars(
            sa.select(AssessmentCycle)
            .where(AssessmentCycle.status == CycleStatus.OPEN)
            .order_by(AssessmentCycle.id)
        ).all()
        for cycle in cycles:
            for name, value in sorted((cycle.deadlines or {}).items()):
                if name == "publish":  # the planned 公示 day: the office's own step, not reminded
                    continue
                step = STEPS.get(name)
                parsed = parse_deadline(value, rules.zone)
                if step is None or parsed is None:
                    log.warning("assessment_deadline_ignored", cycle=cycle.id, step=name)
                    continue
                due, label = parsed
                step = Step(label or step.label, step.audience)
                added += _deadline_step(session, cycle, name, step, due, days_before, now, rules)
    return added


def _deadline_step(
    session: so.Session,
    cycle: AssessmentCycle,
    name: str,
    step: Step,
    due: date,
    days_before: Sequence[int],
    now: datetime,
    rules: Rules,
) -> int:
    today = rules.today(now)
    how = HOW_TO_SELF_ASSESS if step.audience == "mentor" else HOW_TO_SCORE
    pending = _pending(session, cycle, name, step)
    userids = sorted({userid for _, userid, _ in pending})
    if today > due:
        late = (
            f"【考核逾期】{cycle.year.code}学年导师考核“{step.label}”已于 "
            f"{due.month}月{due.day}日 截止，您尚未完成。{how}"
        )
        reminded = notify(
            session, userids, Message.text(late), campaign="assessment_late",
            period=f"{cycle.id}-{name}-{today.isoformat()}", now=now, rules=rules,
        )  # fmt: skip
        return reminded + _escalate(session, cycle, name, step, due, pending, now, rules)
    offsets = [offset for offset, day in reminder_days(due, days_before).items() if day == today]
    if not offsets:
        return 0
    left = (due - today).days
    text = (
        f"【考核提醒】{cycle.year.code}学年导师考核：“{step.label}”将于 "
        f"{due.month}月{due.day}日 截止，还有 {left} 天。{how}已完成的请忽略。"
    )
    return notify(
        session,
        userids,
        Message.text(text),
        campaign="assessment",
        period=f"{cycle.id}-{name}-d{offsets[0]}",
        now=now,
        rules=rules,
    )


def _pending(
    session: so.Session, cycle: AssessmentCycle, name: str, step: Step
) -> list[tuple[int, str, int]]:
    """(unit id to escalate to, userid to remind, subject id) of those who have not
    submitted ``name``: a mentor's unit is the college that assesses them."""
    done = set(
        session.scalars(
            sa.select(Submission.subject_id).where(
                Submission.cycle_id == cycle.id, Submission.step == name
            )
        )
    )
    if step.audience == "mentor":
        return [
            (m.college_id, m.userid, m.person_id)
            for m in mentors_of(session, cycle.year_id)
            if m.person_id not in done
        ]
    if step.audience == "academy":
        academy = session.scalar(sa.select(Unit).where(Unit.kind == UnitKind.ACADEMY))
        if ACADEMY_SUBJECT in done or academy is None:
            return []
        return [
            (academy.id, userid, ACADEMY_SUBJECT)
            for userid in holder_userids(session, Role.ACADEMY_ADMIN)
        ]
    colleges = session.scalars(
        sa.select(Unit)
        .join(MentorAssignment, MentorAssignment.college_id == Unit.id)
        .where(MentorAssignment.year_id == cycle.year_id)
        .distinct()
        .order_by(Unit.id)
    )
    return [
        (unit.id, userid, unit.id)
        for unit in colleges
        if unit.id not in done
        for userid in holder_userids(session, Role.COLLEGE_ADMIN, unit_id=unit.id)
    ]


def _escalate(
    session: so.Session,
    cycle: AssessmentCycle,
    name: str,
    step: Step,
    due: date,
    pending: list[tuple[int, str, int]],
    now: datetime,
    rules: Rules,
) -> int:
    """Overdue: each college head (the academy's head for the office) hears once which of
    their people are late: once per cycle, step and unit, recorded in ``overdue_escalation``
    with the message, so neither a second run nor the outbox pruning brings it again. A unit
    without an active head is not recorded: it is escalated once it has one."""
    if not pending:
        return 0
    late_by_unit: dict[int, set[int]] = defaultdict(set)
    for unit_id, _, subject in pending:
        late_by_unit[unit_id].add(subject)
    added = 0
    for unit_id, subjects in sorted(late_by_unit.items()):
        unit = session.get(Unit, unit_id)
        if unit is None:
            continue
        heads = [person.userid for person in unit_heads(session, unit.id)]
        if not heads or not _first_escalation(session, cycle.id, name, unit.id, now):
            continue
        if step.audience == "mentor":
            names = session.scalars(
                sa.select(Person.name).where(Person.id.in_(subjects)).order_by(Person.name)
            ).all()
            shown = "、".join(names[:MAX_NAMES]) + (" 等" if len(names) > MAX_NAMES else "")
            who = f"以下 {len(names)} 位导师尚未完成：{shown}"
        else:
            who = f"{unit.name}尚未完成"
        text = (
            f"【考核逾期】{cycle.year.code}学年导师考核“{step.label}”已于 "
            f"{due.month}月{due.day}日 截止，{who}。请督促尽快完成。"
        )
        added += notify(
            session,
            heads,
            Message.text(text),
            campaign="assessment_overdue",
            period=f"{cycle.id}-{name}-{unit.id}",
            now=now,
            rules=rules,
        )
    return added


_INSERT_ESCALATION = InsertIgnoringConflicts(
    OverdueEscalation.__table__,
    ("cycle_id", "step", "unit_id"),
    {
        "cycle_id": sa.bindparam("cycle_id"),
        "step": sa.bindparam("step"),
        "unit_id": sa.bindparam("unit_id"),
        "escalated_at": sa.bindparam("escalated_at"),
    },
)


def _first_escalation(
    session: so.Session, cycle_id: int, step: str, unit_id: int, now: datetime
) -> bool:
    """Record the escalation of ``step`` to ``unit_id``'s head in the caller's transaction;
    False when it was made before (or another open transaction making it commits)."""
    inserted = _INSERT_ESCALATION.execute(
        session, {"cycle_id": cycle_id, "step": step, "unit_id": unit_id, "escalated_at": now}
    )
    return inserted.first() is not None
