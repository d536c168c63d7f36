"""Opening a cycle (开启考核): the deadlines in the regulation's order, the colleges and the
office told, every change audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    Person,
    Role,
)
from bot.cycle import messages
from bot.cycle.cycles import DEFAULT_DAYS, STEPS, CycleError, Env, audit, colleges
from bot.cycle.results import members
from bot.outbox import queue as outbox
from bot.roster.holders import holder_userids
from scoring.rubric import DEFAULT_RUBRIC


def parse_deadlines(text: Mapping[str, str], today: date) -> dict[str, str]:
    """Deadlines by step from ISO dates; missing steps get the default distance from today."""
    result = {}
    for step in STEPS:
        raw = text.get(step)
        day = date.fromisoformat(raw) if raw else today + timedelta(days=DEFAULT_DAYS[step])
        if day < today:
            raise CycleError(f"{messages.STEP_NAMES[step]}的截止日期 {day} 已经过去。")
        result[step] = day.isoformat()
    return result


def open_cycle(
    session: so.Session,
    *,
    year_code: str,
    actor: Person | None,
    now: datetime,
    env: Env,
    deadlines: Mapping[str, str] | None = None,
    rubric: str = DEFAULT_RUBRIC,
) -> AssessmentCycle:
    """Open the year's cycle and tell mentors, college admins and the office."""
    year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == year_code))
    if year is None:
        raise CycleError(f"没有 {year_code} 学年的校历，请先导入名单与校历。")
    if session.scalar(sa.select(AssessmentCycle).where(AssessmentCycle.year_id == year.id)):
        raise CycleError(f"{year_code} 学年的考核已经开启过了。发送“进度”查看。")
    days = parse_deadlines(deadlines or {}, now.astimezone(env.zone).date())
    cycle = AssessmentCycle(
        year_id=year.id, status=CycleStatus.OPEN, rubric=rubric, deadlines=days, opened_at=now
    )
    session.add(cycle)
    session.flush()
    audit(
        session, actor=actor, action="open", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after={"year": year_code, "deadlines": days},
    )  # fmt: skip
    people = members(session, cycle)
    mentor_ids = [m.person.userid for m in people]
    outbox.enqueue(
        session,
        mentor_ids,
        messages.opening_for_mentor(year_code, days, env.base_url, cycle.id),
        key=f"cycle:{cycle.id}:open:mentor",
        now=now,
    )
    for college in colleges(session, cycle):
        scope = messages.college_scope(college.id)
        admins = holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college.id)
        card = messages.scoring_card(
            f"{year_code} 学年导师考核：{college.name}评分",
            f"请为本学院 {sum(m.college.id == college.id for m in people)} 位导师评 B、M、E 项",
            days["college"],
            messages.hub_url(env.base_url, cycle.id, scope),
            messages.SUBMIT.pack(cycle.id, scope),
            f"cycle-{cycle.id}-{scope}",
        )
        outbox.enqueue(session, admins, card, key=f"cycle:{cycle.id}:open:{scope}", now=now)
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    card = messages.scoring_card(
        f"{year_code} 学年导师考核：书院部评分",
        f"请为全部 {len(people)} 位导师评 A 项（联动融合）",
        days["academy"],
        messages.hub_url(env.base_url, cycle.id, messages.ACADEMY_SCOPE),
        messages.SUBMIT.pack(cycle.id, messages.ACADEMY_SCOPE),
        f"cycle-{cycle.id}-academy",
    )
    outbox.enqueue(session, office, card, key=f"cycle:{cycle.id}:open:academy", now=now)
    return cycle
