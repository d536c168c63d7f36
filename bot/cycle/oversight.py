"""人力资源处 (HR) and 教务处 (academic affairs): 第六条 has the office publish the results,
take objections and correct them together with both. They are told at publication and at
every correction (through the outbox) and read the year's results and outstanding mentors on
a read-only page; HR also downloads the multi-year record (第七条) there. They are told
when the year closes too: the final results are what the record keeps."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy.orm as so

from bot.core.models import AssessmentCycle, Person, Role
from bot.cycle import access
from bot.cycle.cycles import Env
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids

ROLES = (Role.HR, Role.ACADEMIC_AFFAIRS)


def may_read_results(person: Person) -> bool:
    """The office, HR and 教务处 read every mentor's published result."""
    return access.is_office(person) or any(person.has_role(role) for role in ROLES)


def may_read_history(person: Person) -> bool:
    """The office and HR read the multi-year record."""
    return access.is_office(person) or person.has_role(Role.HR)


def overview_url(base: str, cycle_id: int) -> str:
    return f"{base}/m/cycle/{cycle_id}/overview"


def notify(
    session: so.Session,
    cycle: AssessmentCycle,
    lines: list[str],
    *,
    key: str,
    now: datetime,
    env: Env,
) -> int:
    """One note to every holder of the HR and 教务处 roles with a link to the overview."""
    text = (
        "\n".join(lines)
        + f"\n[查看全校考核结果和优秀导师名单]({overview_url(env.base_url, cycle.id)})"
    )
    return outbox.enqueue(
        session, holder_userids(session, *ROLES), Message.markdown(text), key=key, now=now
    )


def published(
    session: so.Session, cycle: AssessmentCycle, *, until: str, note: str, now: datetime, env: Env
) -> int:
    return notify(
        session, cycle,
        [f"**{cycle.year.code} 学年导师考核结果已公示**{note}", f"异议期至 {until}。"],
        key=f"cycle:{cycle.id}:publish:oversight", now=now, env=env,
    )  # fmt: skip


def corrected(
    session: so.Session,
    cycle: AssessmentCycle,
    *,
    what: str,
    reason: str,
    changed: int,
    correction_id: int,
    now: datetime,
    env: Env,
) -> int:
    return notify(
        session, cycle,
        [
            f"**{cycle.year.code} 学年导师考核结果已更正**",
            f"{what}；原因：{reason[:300]}",
            f"重新计算后结果有变化的导师 {changed} 位。",
        ],
        key=f"cycle:{cycle.id}:correction-{correction_id}:oversight", now=now, env=env,
    )  # fmt: skip


def closed(
    session: so.Session, cycle: AssessmentCycle, *, note: str, now: datetime, env: Env
) -> int:
    return notify(
        session, cycle,
        [f"**{cycle.year.code} 学年导师考核已结束**", f"结果已确定。{note}".strip()],
        key=f"cycle:{cycle.id}:close:oversight", now=now, env=env,
    )  # fmt: skip
