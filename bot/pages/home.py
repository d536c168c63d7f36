"""The signed-in landing page (``/m/``): where sign-in without a ``next`` ends, listing what
this person may open. The pages themselves still check every permission; this page only
offers the links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, g, render_template

from bot.core.db import get_session
from bot.core.models import (
    ROLE_NAMES,
    AssessmentCycle,
    CycleStatus,
    MentorAssignment,
    Person,
    Unit,
)
from bot.cycle import access, cycles, oversight
from bot.cycle.messages import ACADEMY_SCOPE
from bot.pages.auth import login_required
from bot.records.uploads import PURPOSES

blueprint = Blueprint("home", __name__, url_prefix="/m")

NOTHING = (
    "这里暂时没有您可以打开的页面。记录、评价和查询请在企业微信中直接给机器人发消息，"
    "发送“帮助”可查看用法。"
)


@dataclass(frozen=True)
class Link:
    title: str
    url: str


def links_for(session: so.Session, person: Person) -> list[Link]:
    """The pages ``person`` may open now, most used first."""
    links = [
        Link(f"上传{purpose.title}", f"/m/upload?purpose={name}")
        for name, purpose in PURPOSES.items()
        if any(person.has_role(role) for role in purpose.roles)
    ]
    cycle = cycles.find_cycle(session)
    if cycle is not None:
        links += _cycle_links(session, person, cycle)
    return links


def _cycle_links(session: so.Session, person: Person, cycle: AssessmentCycle) -> list[Link]:
    base = f"/m/cycle/{cycle.id}"
    year = cycle.year.code
    links: list[Link] = []
    assigned = session.scalar(
        sa.select(MentorAssignment.id).where(
            MentorAssignment.year_id == cycle.year_id, MentorAssignment.mentor_id == person.id
        )
    )
    if assigned is not None:
        if cycle.status == CycleStatus.OPEN:
            links.append(Link(f"{year} 学年考核自评", f"{base}/self"))
        else:
            links.append(Link(f"{year} 学年我的考核结果", f"{base}/me"))
    college_ids = sorted(access.admin_college_ids(person))
    if college_ids:
        names = {
            unit.id: unit.name
            for unit in session.scalars(sa.select(Unit).where(Unit.id.in_(college_ids)))
        }
        links += [
            Link(
                f"{names.get(college_id, '')} {year} 学年考核评分表",
                f"{base}/scores/college-{college_id}",
            )
            for college_id in college_ids
        ]
    if access.is_office(person):
        links.append(Link(f"书院部 {year} 学年考核评分表", f"{base}/scores/{ACADEMY_SCOPE}"))
        if cycle.status != CycleStatus.OPEN:
            links.append(Link(f"下载 {year} 学年考核结果", f"{base}/results.xlsx"))
    if oversight.may_read_results(person) and cycle.status != CycleStatus.OPEN:
        links.append(Link(f"{year} 学年考核总览", f"{base}/overview"))
    return links


@blueprint.get("/")
@login_required
def home() -> Any:
    person: Person = g.person
    roles = "、".join(sorted({ROLE_NAMES[grant.role] for grant in person.roles})) or "无"
    return render_template(
        "pages/home.html",
        person=person,
        roles=roles,
        links=links_for(get_session(), person),
        nothing=NOTHING,
    )
