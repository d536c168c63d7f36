"""Opening a cycle (开启考核): only for a year that has ended (from 20 August of its last
calendar year), deadlines in the regulation's order (自评 → 学院 → 书院部 → 公示), the plan
shown for confirmation first; then mentors, colleges and the office told, every change audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    Person,
    Role,
)
from bot.cycle import messages, windows
from bot.cycle.cycles import DEFAULT_DAYS, STEPS, CycleError, Env, audit, colleges
from bot.cycle.results import members
from bot.outbox import queue as outbox
from bot.ratings.rules import RatingPolicy
from bot.roster.holders import holder_userids
from scoring.rubric import DEFAULT_RUBRIC

ORDER = (*STEPS, "publish")  # the regulation's order; "publish" (公示) is optional
OPEN_FROM = (8, 20)  # month and day of the year's last calendar year from which it may open


def step_name(step: str) -> str:
    return messages.STEP_NAMES.get(step, messages.PUBLISH_NAME)


class HasEnd(Protocol):
    ends_on: date


def opens_from(year: AcademicYear | HasEnd) -> date:
    """The first day the office may open the year's assessment: 20 August of the year's end."""
    return min(year.ends_on, date(year.ends_on.year, *OPEN_FROM))


def parse_deadlines(text: Mapping[str, str], today: date) -> dict[str, str]:
    """Deadlines by step from ISO dates; a missing step gets the default distance from today
    but never before the step it follows; every step no earlier than the one before it."""
    result: dict[str, str] = {}
    previous: date | None = None
    for step in ORDER:
        raw = text.get(step)
        if raw:
            day = date.fromisoformat(raw)
        elif step in DEFAULT_DAYS:
            day = max(today + timedelta(days=DEFAULT_DAYS[step]), previous or today)
        else:
            continue
        if day < today:
            raise CycleError(f"{step_name(step)}的截止日期 {day} 已经过去。")
        if previous is not None and day < previous:
            before = next(s for s in reversed(ORDER[: ORDER.index(step)]) if s in result)
            raise CycleError(
                f"{step_name(step)}的日期 {day} 早于{step_name(before)}的截止日期 {previous}。"
                "顺序应为：导师自评 → 学院评分 → 书院部评分 → 公示。"
            )
        result[step] = day.isoformat()
        previous = day
    return result


@dataclass(frozen=True)
class Plan:
    """What opening a year's cycle would do, shown to the office before it confirms."""

    year_code: str
    deadlines: dict[str, str]
    mentors: int
    colleges: int


def plan_opening(
    session: so.Session,
    *,
    year_code: str,
    now: datetime,
    env: Env,
    deadlines: Mapping[str, str] | None = None,
) -> Plan:
    """Check that the year's cycle may be opened now with these deadlines; CycleError says
    why not (no calendar, already opened, the year not yet ended, deadlines out of order)."""
    year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == year_code))
    if year is None:
        raise CycleError(f"没有 {year_code} 学年的校历，请先导入名单与校历。")
    if session.scalar(sa.select(AssessmentCycle).where(AssessmentCycle.year_id == year.id)):
        raise CycleError(f"{year_code} 学年的考核已经开启过了。发送“进度”查看。")
    today = now.astimezone(env.zone).date()
    first = opens_from(year)
    if today < first:
        raise CycleError(
            f"{year_code} 学年还没有结束（{year.ends_on.month}月{year.ends_on.day}日结束），"
            f"不能开启考核：考核评的是已结束的学年，最早可在 {first.year}年{first.month}月"
            f"{first.day}日开启。"
        )
    days = parse_deadlines(deadlines or {}, today)
    people = members(session, AssessmentCycle(year_id=year.id))  # transient: never added
    return Plan(year_code, days, len(people), len({m.college.id for m in people}))


def open_cycle(
    session: so.Session,
    *,
    year_code: str,
    actor: Person | None,
    now: datetime,
    env: Env,
    deadlines: Mapping[str, str] | None = None,
    rubric: str = DEFAULT_RUBRIC,
    policy: RatingPolicy | None = None,
) -> AssessmentCycle:
    """Open the year's cycle and tell mentors, college admins and the office; with the rating
    ``policy``, also send the year's last month's guidance cards to the students."""
    days = plan_opening(
        session, year_code=year_code, now=now, env=env, deadlines=deadlines
    ).deadlines
    year = session.scalars(sa.select(AcademicYear).where(AcademicYear.code == year_code)).one()
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
    if policy is not None:
        windows.send_last_month_guidance(session, cycle, now=now, policy=policy)
    return cycle
