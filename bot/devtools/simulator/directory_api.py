"""The fake WeCom's contact book and app settings, as a self-built app's token sees them.

Endpoints (answered as WeCom documents them, field by field):

- ``agent/get`` (doc 90227): the app's name, visible range (``allow_userinfos``,
  ``allow_partys``, ``allow_tags``), ``close``, ``redirect_domain`` (可信域名),
  ``report_location_flag``, ``isreportenter``, ``home_url``;
- ``department/list`` (doc 90208): the departments in the app's visible range and below;
- ``user/list`` (doc 90201) and ``user/simplelist`` (doc 90200) per department, not
  recursive; the fields a self-built app created after 2022-06-20 still gets (no avatar,
  gender, mobile, email or address);
- ``user/get`` (doc 90196): one member, user ids matched case-insensitively;
- ``menu/get`` (doc 90232): the menu as created, or 46003 when none was.

"应用只能获取可见范围内的成员信息": a member outside the visible range is 60011 to
``user/get``, a department outside it is 60011 to ``department/list`` and ``user/list``; an
unknown userid is 60111, an unknown department 60123.

The visible range, departments and app settings live in :class:`FakeDirectory`
(``FakeWeCom.directory``); members are the fake's users, with ``department`` (default
``[1]``, the root) and ``status`` (1 active, 2 disabled, 4 not activated, 5 left) as extras:

    state.directory.add_department(2, "计算机学院")
    state.add_user("zhangsan", "张三", department=[2])
    state.directory.set_visible_range(partys=[2], users=["sysadmin"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.devtools.simulator.fake_api import FakeWeCom

ROOT_DEPARTMENT = 1
NO_PRIVILEGE = (60011, "no privilege to access/modify contact/party/agent")
# the fields user/list returns to a self-built app created after 2022-06-20
LIST_FIELDS = (
    "userid",
    "name",
    "department",
    "order",
    "position",
    "is_leader_in_dept",
    "direct_leader",
    "telephone",
    "alias",
    "status",
    "main_department",
)


@dataclass
class FakeDirectory:
    """Departments, the app's visible range and the settings agent/get reports."""

    name: str = "全生异科导师"
    description: str = "导师台账、学生评价与年度考核"
    square_logo_url: str = ""
    close: int = 0
    redirect_domain: str = ""
    home_url: str = ""
    report_location_flag: int = 0
    isreportenter: int = 1
    departments: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {ROOT_DEPARTMENT: _department(ROOT_DEPARTMENT, "学校", 0, 0)}
    )
    allow_users: list[str] = field(default_factory=list)
    allow_partys: list[int] = field(default_factory=lambda: [ROOT_DEPARTMENT])
    allow_tags: list[int] = field(default_factory=list)
    # lower-cased ids left out of the range although their department is in it (a member
    # added to the contact book after the range was set, or removed from it by name)
    left_out: set[str] = field(default_factory=set)

    def add_department(
        self, department_id: int, name: str, parentid: int = ROOT_DEPARTMENT, order: int = 0
    ) -> None:
        if parentid not in self.departments:
            raise KeyError(f"no parent department {parentid}")
        self.departments[department_id] = _department(department_id, name, parentid, order)

    def set_visible_range(
        self, *, users: Iterable[str] = (), partys: Iterable[int] = (), tags: Iterable[int] = ()
    ) -> None:
        """可见范围: these members, these departments (with their sub-departments), tags."""
        self.allow_users = list(users)
        self.allow_partys = list(partys)
        self.allow_tags = list(tags)

    def visible_departments(self) -> set[int]:
        """The departments in the range and every department below them."""
        return self.subtree(d for d in self.allow_partys if d in self.departments)

    def subtree(self, roots: Iterable[int]) -> set[int]:
        """``roots`` and every department below them."""
        found = set(roots)
        while True:
            below = {d for d, info in self.departments.items() if info["parentid"] in found}
            if below <= found:
                return found
            found |= below

    def visibility(self) -> Callable[[dict[str, Any]], bool]:
        """Whether a member is in the visible range (the range worked out once)."""
        departments = self.visible_departments()
        users = {u.lower() for u in self.allow_users}

        def visible(user: dict[str, Any]) -> bool:
            userid = user["userid"].lower()
            if userid in self.left_out:
                return False
            return userid in users or not departments.isdisjoint(_departments_of(user))

        return visible

    def is_visible(self, user: dict[str, Any]) -> bool:
        return self.visibility()(user)


def _department(department_id: int, name: str, parentid: int, order: int) -> dict[str, Any]:
    return {
        "id": department_id,
        "name": name,
        "name_en": "",
        "department_leader": [],
        "parentid": parentid,
        "order": order,
    }


def _departments_of(user: dict[str, Any]) -> list[int]:
    return list(user.get("department") or [ROOT_DEPARTMENT])


def _error(errcode: int, errmsg: str) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": errmsg}


def _users(state: FakeWeCom) -> list[dict[str, Any]]:
    return list(state._users.values())


def _find_user(state: FakeWeCom, userid: str) -> dict[str, Any] | None:
    """WeCom user ids are case-insensitive."""
    wanted = userid.lower()
    return next((u for u in _users(state) if u["userid"].lower() == wanted), None)


def _department_arg(state: FakeWeCom, args: dict[str, str]) -> int | dict[str, Any]:
    """The visible department named by ``department_id``, or the error to answer."""
    try:
        department_id = int(args.get("department_id", ""))
    except ValueError:
        return _error(40058, "department_id is required")
    if department_id not in state.directory.departments:
        return _error(60123, "invalid party id")
    if department_id not in state.directory.visible_departments():
        return _error(*NO_PRIVILEGE)
    return department_id


def _member(user: dict[str, Any], fields: tuple[str, ...], visible: set[int]) -> dict[str, Any]:
    """The member as listed: only the departments the app may see."""
    departments = [d for d in _departments_of(user) if d in visible]
    full = {
        "position": "",
        "is_leader_in_dept": [0] * len(departments),
        "direct_leader": [],
        "telephone": "",
        "alias": "",
        "status": 1,
        **user,
        "department": departments,
        "order": [0] * len(departments),
        "main_department": departments[0] if departments else 0,
    }
    return {name: full[name] for name in fields}


# -- endpoints ----------------------------------------------------------------------------


def agent_get(state: FakeWeCom, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
    state._check_agent(args.get("agentid"))
    directory = state.directory
    return {
        "errcode": 0,
        "errmsg": "ok",
        "agentid": state.agent_id,
        "name": directory.name,
        "square_logo_url": directory.square_logo_url,
        "description": directory.description,
        "allow_userinfos": {"user": [{"userid": u} for u in directory.allow_users]},
        "allow_partys": {"partyid": list(directory.allow_partys)},
        "allow_tags": {"tagid": list(directory.allow_tags)},
        "close": directory.close,
        "redirect_domain": directory.redirect_domain,
        "report_location_flag": directory.report_location_flag,
        "isreportenter": directory.isreportenter,
        "home_url": directory.home_url,
    }


def department_list(
    state: FakeWeCom, args: dict[str, str], body: bytes, files: Any
) -> dict[str, Any]:
    directory = state.directory
    visible = directory.visible_departments()
    if args.get("id"):
        checked = _department_arg(state, {"department_id": args["id"]})
        if isinstance(checked, dict):
            return checked
        visible = directory.subtree([checked])  # all inside the range, as checked is
    departments = [dict(directory.departments[d]) for d in sorted(visible)]
    for department in departments:
        department["department_leader"] = [
            u for u in department["department_leader"] if _visible_userid(state, u)
        ]
    return {"errcode": 0, "errmsg": "ok", "department": departments}


def _visible_userid(state: FakeWeCom, userid: str) -> bool:
    user = _find_user(state, userid)
    return user is not None and state.directory.is_visible(user)


def _department_members(
    state: FakeWeCom, args: dict[str, str], fields: tuple[str, ...]
) -> dict[str, Any]:
    checked = _department_arg(state, args)
    if isinstance(checked, dict):
        return checked
    visible = state.directory.visible_departments()
    members = [
        _member(user, fields, visible)
        for user in sorted(_users(state), key=lambda u: u["userid"])
        if checked in _departments_of(user)
        and user["userid"].lower() not in state.directory.left_out
    ]
    return {"errcode": 0, "errmsg": "ok", "userlist": members}


def user_list(state: FakeWeCom, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
    return _department_members(state, args, LIST_FIELDS)


def user_simplelist(
    state: FakeWeCom, args: dict[str, str], body: bytes, files: Any
) -> dict[str, Any]:
    return _department_members(state, args, ("userid", "name", "department"))


def user_get(state: FakeWeCom, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
    user = _find_user(state, args.get("userid", ""))
    if user is None:
        return _error(60111, "userid not found")
    if not state.directory.is_visible(user):
        return _error(*NO_PRIVILEGE)
    fields = _member(user, LIST_FIELDS, state.directory.visible_departments())
    return {"errcode": 0, "errmsg": "ok", **fields, **_extras(user)}


def _extras(user: dict[str, Any]) -> dict[str, Any]:
    """What a test stored beyond the listed fields (mobile, say), as the member's record."""
    return {k: v for k, v in user.items() if k not in LIST_FIELDS}


def menu_get(state: FakeWeCom, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
    state._check_agent(args.get("agentid"))
    if state.menu is None:
        return _error(46003, "menu no exist")
    return {"errcode": 0, "errmsg": "ok", **state.menu}


DIRECTORY_HANDLERS: dict[str, Callable[..., Any]] = {
    "agent/get": agent_get,
    "department/list": department_list,
    "user/list": user_list,
    "user/simplelist": user_simplelist,
    "user/get": user_get,
    "menu/get": menu_get,
}
