"""Read the app's own settings and WeCom's contact book (通讯录), read-only.

Each call goes through :class:`~bot.wecom.client.WeComClient`'s one request path (the shared
token, its refresh on 40014/42001, the errcode check), and each answer is read field by field
as WeCom documents it:

- ``agent/get`` (doc 90227): name, visible range, ``close``, ``redirect_domain`` (可信域名),
  ``isreportenter`` (上报进入应用事件), ``home_url``;
- ``department/list`` (doc 90208): the departments the app may see;
- ``user/list`` (doc 90201): the members of one department (not its sub-departments);
- ``user/get`` (doc 90196): one member; 60011 when outside the app's visible range, 60111
  when WeCom has no such user id;
- ``menu/get`` (doc 90232): the app menu, ``None`` when none was created (46003).

A self-built app sees only its visible range (可见范围): ``department/list`` and ``user/list``
leave out everything outside it, and ``user/get`` answers 60011 for a member outside it.
WeCom user ids are case-insensitive, so :func:`userid_key` is how ids are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.wecom.client import WeComClient, _Call
from bot.wecom.errors import WeComAPIError, WeComNetworkError

NO_PRIVILEGE = 60011  # outside the app's visible range (指定的成员/部门/标签参数无权限)
NO_SUCH_USER = 60111  # UserID 不存在
NO_MENU = 46003  # 菜单未设置
MAX_DEPARTMENTS = 30_000  # WeCom's limit per company
MAX_MEMBERS = 200_000

# user/list status (doc 90201): 1 已激活, 2 已禁用, 4 未激活, 5 退出企业
ACTIVE = 1
STATUS_NAMES = {1: "已激活", 2: "已禁用", 4: "未激活", 5: "已退出企业"}


def userid_key(userid: str) -> str:
    """How user ids are compared: WeCom treats them case-insensitively."""
    return userid.strip().lower()


@dataclass(frozen=True)
class Agent:
    """What agent/get reports about this app."""

    agent_id: int
    name: str
    closed: bool
    users: tuple[str, ...]  # allow_userinfos.user[].userid
    partys: tuple[int, ...]  # allow_partys.partyid
    tags: tuple[int, ...]  # allow_tags.tagid
    redirect_domain: str  # 可信域名
    home_url: str
    report_enter: bool  # isreportenter

    @property
    def range_is_empty(self) -> bool:
        return not (self.users or self.partys or self.tags)


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    parent_id: int


@dataclass(frozen=True)
class Member:
    userid: str
    name: str
    departments: tuple[int, ...]
    status: int = ACTIVE


def get_agent(client: WeComClient) -> Agent:
    data = client._call(_Call("get", "agent/get", {"agentid": client.agent_id}))
    return Agent(
        agent_id=_int(data.get("agentid"), "agentid"),
        name=_str(data.get("name")),
        closed=data.get("close") in (1, "1"),
        users=tuple(
            _str(user.get("userid"))
            for user in _dict(data.get("allow_userinfos")).get("user") or []
            if isinstance(user, dict) and user.get("userid")
        ),
        partys=tuple(
            _int(p, "partyid") for p in _dict(data.get("allow_partys")).get("partyid") or []
        ),
        tags=tuple(_int(t, "tagid") for t in _dict(data.get("allow_tags")).get("tagid") or []),
        redirect_domain=_str(data.get("redirect_domain")),
        home_url=_str(data.get("home_url")),
        report_enter=data.get("isreportenter") in (1, "1"),
    )


def list_departments(client: WeComClient) -> list[Department]:
    data = client._call(_Call("get", "department/list"))
    rows = _list(data.get("department"), "department", MAX_DEPARTMENTS)
    return [
        Department(
            id=_int(row.get("id"), "department.id"),
            name=_str(row.get("name")),
            parent_id=_int(row.get("parentid", 0), "department.parentid"),
        )
        for row in rows
        if isinstance(row, dict)
    ]


def list_members(client: WeComClient, department_id: int) -> list[Member]:
    """The members of one department (user/list; sub-departments are listed separately)."""
    data = client._call(_Call("get", "user/list", {"department_id": department_id}))
    rows = _list(data.get("userlist"), "userlist", MAX_MEMBERS)
    return [_member(row) for row in rows if isinstance(row, dict) and row.get("userid")]


def get_member(client: WeComClient, userid: str) -> Member:
    """One member (user/get); WeComAPIError 60011 outside the visible range, 60111 unknown."""
    return _member(client.get_user(userid))


def get_menu(client: WeComClient) -> dict[str, Any] | None:
    try:
        data = client._call(_Call("get", "menu/get", {"agentid": client.agent_id}))
    except WeComAPIError as exc:
        if exc.errcode == NO_MENU:
            return None
        raise
    return {"button": data.get("button") or []}


def _member(row: dict[str, Any]) -> Member:
    return Member(
        userid=_str(row.get("userid")),
        name=_str(row.get("name")),
        departments=tuple(_int(d, "department") for d in row.get("department") or []),
        status=_int(row.get("status", ACTIVE), "status"),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any, what: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WeComNetworkError(f"{what} is not a list")
    if len(value) > limit:
        raise WeComNetworkError(f"{what} has more than {limit} entries")
    return value


def _str(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WeComNetworkError(f"{what} is not a number: {value!r:.40}") from None
