"""The contact book's changes keep the roster true (change_contact events, doc 90970).

WeCom sends them from ``sys`` when a member is changed in the contact book (the app must be
allowed to receive them). A member whose userid was changed (update_user with NewUserID) is
followed: the person keeps every record under the new id. A deleted member (delete_user) is
marked as left (``active`` false, as when a roster import leaves someone out): nothing is
deleted, their records stay, and they no longer reach the bot or get messages. Each change is
one audit entry, and the academy office is told, since the roster workbook still names the
old id. Other changes (create_user, a name, departments, tags) change nothing here: the roster
import is where people and names come from.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.audit import audit
from bot.core.models import Person, Role
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids
from bot.roster.userids import active_person, fold
from bot.wecom.messages import ChangeContactEvent

ACTOR = "wecom"  # the audit entries' entity for changes WeCom made


def apply_contact_change(session: so.Session, change: ChangeContactEvent, now: datetime) -> str:
    """Act on one change_contact event in the caller's transaction; returns what was done
    (``renamed``, ``left``, ``conflict`` or ``ignored``)."""
    if change.change_type == "update_user" and change.new_user_id:
        return _rename(session, change, now)
    if change.change_type == "delete_user":
        return _leave(session, change, now)
    return "ignored"


def _rename(session: so.Session, change: ChangeContactEvent, now: datetime) -> str:
    person = active_person(session, change.user_id)
    new = change.new_user_id
    if person is None or person.userid == new:
        return "ignored"
    holder = session.scalar(
        sa.select(Person).where(sa.func.lower(Person.userid) == fold(new), Person.id != person.id)
    )
    if holder is not None:
        _tell_office(
            session,
            f"企业微信通讯录中，{_who(person)}的账号由 {person.userid} 改为 {new}，"
            f"但名单中已有使用 {holder.userid} 的{holder.name}，未自动更新。"
            "请核对后修改名册表并重新导入。",
            key=f"contact:conflict:{person.id}:{fold(new)}",
            now=now,
        )
        return "conflict"
    old = person.userid
    person.userid = new
    audit(
        session, actor=None, action="wecom_rename", entity="person", entity_id=person.id,
        now=now, before={"userid": old}, after={"userid": new, "by": ACTOR},
    )  # fmt: skip
    _tell_office(
        session,
        f"企业微信通讯录中，{_who(person)}的账号由 {old} 改为 {new}，名单已随之更新，"
        "记录不受影响。请同时修改名册表中的企业微信账号，以免下次导入时改回。",
        key=f"contact:rename:{person.id}:{fold(new)}",
        now=now,
    )
    return "renamed"


def _leave(session: so.Session, change: ChangeContactEvent, now: datetime) -> str:
    person = active_person(session, change.user_id)
    if person is None:
        return "ignored"
    person.active = False
    audit(
        session, actor=None, action="wecom_left", entity="person", entity_id=person.id,
        now=now, before={"active": True}, after={"active": False, "by": ACTOR},
    )  # fmt: skip
    _tell_office(
        session,
        f"企业微信通讯录已删除{_who(person)}（账号 {person.userid}）：名单中已标记为离开，"
        "其记录和评分保留，不再收到消息。如属误删，请在通讯录中恢复后重新导入名册。",
        key=f"contact:left:{person.id}:{now:%Y%m%d%H%M%S}",
        now=now,
    )
    return "left"


def _who(person: Person) -> str:
    return f"{person.name}（{person.number}）"


def _tell_office(session: so.Session, text: str, *, key: str, now: datetime) -> None:
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    outbox.enqueue(session, office, Message.text(text), key=key, now=now)
