"""Who holds a role: the active people granted any of ``roles`` (in one unit when given),
each once, in roster order. The one query every feature asks (notices, reminders, alerts)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Person, Role, RoleGrant, Unit


def holders(session: so.Session, *roles: Role, unit_id: int | None = None) -> list[Person]:
    if not roles or not all(isinstance(role, Role) for role in roles):
        raise TypeError(f"holders() takes roles, then unit_id=…: got {roles!r}")
    query = (
        sa.select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role.in_(roles), Person.active.is_(True))
        .order_by(Person.id)
    )
    if unit_id is not None:
        query = query.where(RoleGrant.unit_id == unit_id)
    return list(session.scalars(query).unique())


def holder_userids(session: so.Session, *roles: Role, unit_id: int | None = None) -> list[str]:
    """The WeCom userids of :func:`holders`."""
    return [person.userid for person in holders(session, *roles, unit_id=unit_id)]


def unit_heads(session: so.Session, unit_id: int) -> list[Person]:
    """Whoever heads ``unit_id``: the holders of the 单位负责人 or 学院负责人 role in it (the
    administrators sheet), and the head the units sheet names (``Unit.head``), each once."""
    found = holders(session, Role.UNIT_HEAD, Role.COLLEGE_HEAD, unit_id=unit_id)
    head = session.scalar(
        sa.select(Person)
        .join(Unit, Unit.head_id == Person.id)
        .where(Unit.id == unit_id, Person.active.is_(True))
    )
    if head is not None and all(person.id != head.id for person in found):
        found.append(head)
    return found
