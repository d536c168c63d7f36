"""Who may see what of a cycle: a college admin their college, a college head their college,
a unit head their staff, a mentor their own result, the academy office everything."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Person, Role, Unit


def is_office(person: Person) -> bool:
    return person.has_role(Role.ACADEMY_ADMIN)


def admin_college_ids(person: Person) -> set[int]:
    return {
        g.unit_id for g in person.roles if g.role == Role.COLLEGE_ADMIN and g.unit_id is not None
    }


def head_college_ids(session: so.Session, person: Person) -> set[int]:
    """Colleges this person heads (a college-head grant, or the unit's head)."""
    granted = {
        g.unit_id for g in person.roles if g.role == Role.COLLEGE_HEAD and g.unit_id is not None
    }
    return granted | headed_unit_ids(session, person)


def headed_unit_ids(session: so.Session, person: Person) -> set[int]:
    """Units whose head this person is (a unit-head grant or ``Unit.head``)."""
    granted = {
        g.unit_id for g in person.roles if g.role == Role.UNIT_HEAD and g.unit_id is not None
    }
    heads = set(session.scalars(sa.select(Unit.id).where(Unit.head_id == person.id)))
    return granted | heads


def may_see_college(session: so.Session, person: Person, college_id: int) -> bool:
    return (
        is_office(person)
        or college_id in admin_college_ids(person)
        or college_id in head_college_ids(session, person)
    )


def may_score_college(person: Person, college_id: int) -> bool:
    return college_id in admin_college_ids(person)
