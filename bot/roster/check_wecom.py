"""``flask --app bot roster check-wecom``: the roster against WeCom's contact book, read-only.

A self-built app sees only its visible range (可见范围): ``department/list`` and
``user/list`` return the departments and members inside it. So the check reads the range
(agent/get), every visible department's members (user/list), the members added to the range
one by one (user/get), and then asks user/get about each roster person still not found:
60011 means WeCom knows them but they are outside the range, 60111 that WeCom has no such
account (a success means they are in the range some other way, through a tag say). Those
per-person look-ups are bounded (``max_lookups``); the rest are listed as not checked.

User ids are compared case-insensitively, as WeCom compares them. Nothing is changed, in the
database or in WeCom.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.core.db import Database
from bot.core.models import Person, PersonKind
from bot.wecom import directory
from bot.wecom.client import WeComClient
from bot.wecom.directory import Agent, Member, userid_key
from bot.wecom.errors import WeComAPIError, WeComError
from bot.wecom.explain import explain

DEFAULT_MAX_LOOKUPS = 500
DEFAULT_SHOW = 50
UNKNOWN_ERRCODES = frozenset({directory.NO_SUCH_USER, 46004})  # 46004: 不存在的成员

Lookup = Literal["unknown", "outside"]
KIND_NAMES = {PersonKind.STUDENT: "学生", PersonKind.STAFF: "教职工"}


@dataclass(frozen=True)
class RosterPerson:
    userid: str
    name: str
    number: str
    kind: PersonKind

    def label(self) -> str:
        return f"{self.userid} {self.name}（{KIND_NAMES[self.kind]} {self.number}）"


@dataclass
class WeComView:
    """What WeCom told this app: its range, the members it sees, and per-person answers."""

    agent: Agent
    departments: int
    members: dict[str, Member] = field(default_factory=dict)  # by userid_key
    lookups: dict[str, Lookup] = field(default_factory=dict)  # by userid_key


@dataclass(frozen=True)
class Comparison:
    unknown: list[RosterPerson]
    outside: list[RosterPerson]
    unchecked: list[RosterPerson]
    renamed: list[tuple[RosterPerson, Member]]
    inactive: list[tuple[RosterPerson, Member]]
    checked: int
    not_on_roster: int

    @property
    def failed(self) -> bool:
        return bool(self.unknown or self.outside or self.unchecked or self.renamed)


def roster_people(session: Session) -> list[RosterPerson]:
    """Everyone active on the roster."""
    people = session.scalars(sa.select(Person).where(Person.active.is_(True)).order_by(Person.id))
    return [RosterPerson(p.userid, p.name, p.number, p.kind) for p in people]


def read_wecom(
    client: WeComClient, roster: Sequence[RosterPerson], *, max_lookups: int
) -> WeComView:
    """Read the visible range and its members, then look up who is still missing."""
    agent = directory.get_agent(client)
    departments = directory.list_departments(client)
    view = WeComView(agent, len(departments))
    for department in departments:
        for member in directory.list_members(client, department.id):
            view.members.setdefault(userid_key(member.userid), member)
    for userid in agent.users:  # added to the range one by one, perhaps from elsewhere
        if userid_key(userid) not in view.members:
            _look_up(client, userid, view)
    missing = [p for p in roster if userid_key(p.userid) not in view.members]
    for person in missing[:max_lookups]:
        _look_up(client, person.userid, view)
    return view


def _look_up(client: WeComClient, userid: str, view: WeComView) -> None:
    key = userid_key(userid)
    try:
        view.members[key] = directory.get_member(client, userid)
    except WeComAPIError as exc:
        if exc.errcode == directory.NO_PRIVILEGE:
            view.lookups[key] = "outside"
        elif exc.errcode in UNKNOWN_ERRCODES:
            view.lookups[key] = "unknown"
        else:
            raise


def compare(
    roster: Iterable[RosterPerson], members: dict[str, Member], lookups: dict[str, Lookup]
) -> Comparison:
    """Pure: who WeCom does not know, who is outside the range, whose name differs."""
    unknown, outside, unchecked, renamed, inactive = [], [], [], [], []
    seen: set[str] = set()
    for person in roster:
        key = userid_key(person.userid)
        seen.add(key)
        member = members.get(key)
        if member is None:
            found = lookups.get(key)
            if found == "unknown":
                unknown.append(person)
            elif found == "outside":
                outside.append(person)
            else:
                unchecked.append(person)
            continue
        if _plain(member.name) != _plain(person.name):
            renamed.append((person, member))
        if member.status != directory.ACTIVE:
            inactive.append((person, member))
    return Comparison(
        unknown=unknown,
        outside=outside,
        unchecked=unchecked,
        renamed=renamed,
        inactive=inactive,
        checked=len(seen),
        not_on_roster=len(set(members) - seen),
    )


def _plain(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip()


def report(view: WeComView, result: Comparison, *, show: int = DEFAULT_SHOW) -> list[str]:
    """The Chinese report, one line each; each list shows at most ``show`` people."""
    agent = view.agent
    lines = [
        "企业微信通讯录核对（只读，没有改动名册或企业微信）",
        f"应用「{agent.name}」的可见范围：部门 {len(agent.partys)} 个"
        f"（连同下级部门，应用可见的部门共 {view.departments} 个），"
        f"单独添加的成员 {len(agent.users)} 人，标签 {len(agent.tags)} 个",
        f"名册中在用的人员 {result.checked} 人，应用可见的企业微信成员 {len(view.members)} 人",
    ]
    sections = [
        (
            result.unknown,
            "✗ 企业微信中没有这些账号",
            "在企业微信通讯录中添加他们，或改正名册中的企业微信账号",
        ),
        (
            result.outside,
            "✗ 在企业微信中，但不在应用的可见范围内",
            "把他们或他们的部门加入应用的可见范围，否则收不到消息",
        ),
        (
            result.unchecked,
            "✗ 未逐一核对（不在可见范围的成员列表中，超过了查询上限）",
            "先处理上面的问题，或用 --max-lookups 提高上限后再运行",
        ),
    ]
    for people, title, advice in sections:
        if people:
            lines.append(f"{title}（{len(people)} 人）：{advice}")
            lines += _shown([f"  {person.label()}" for person in people], show)
    if result.renamed:
        lines.append(f"✗ 姓名不一致（{len(result.renamed)} 人）：改正名册或企业微信中的姓名")
        lines += _shown(
            [f"  {p.userid}：名册“{p.name}”，企业微信“{m.name}”" for p, m in result.renamed], show
        )
    if result.inactive:
        lines.append(f"⚠ 未激活或已停用（{len(result.inactive)} 人）：激活前收不到消息")
        lines += _shown(
            [
                f"  {p.label()}：{directory.STATUS_NAMES.get(m.status, f'状态 {m.status}')}"
                for p, m in result.inactive
            ],
            show,
        )
    if not result.failed:
        lines.append(f"✓ 名册中的 {result.checked} 人都在应用的可见范围内，姓名一致")
    if result.not_on_roster:
        extra = result.not_on_roster
        lines.append(f"可见范围内另有 {extra} 人不在名册中（他们找机器人时会被告知不在名单中）")
    return lines


def _shown(lines: list[str], show: int) -> list[str]:
    if len(lines) <= show:
        return lines
    return [*lines[:show], f"  ……另有 {len(lines) - show} 人（用 --show 显示更多）"]


def run_check(database: Database, *, max_lookups: int, show: int) -> tuple[list[str], bool]:
    """The command: the report's lines, and whether anything needs fixing."""
    from bot.wecom.app_client import get_client

    with database.session() as session:
        roster = roster_people(session)
    try:
        view = read_wecom(get_client(), roster, max_lookups=max_lookups)
    except WeComError as error:
        raise click.ClickException(f"读取企业微信通讯录失败：{explain(error)}") from None
    result = compare(roster, view.members, view.lookups)
    return report(view, result, show=show), result.failed
