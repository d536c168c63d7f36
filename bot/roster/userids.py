"""WeCom user ids are case-insensitive: ``ZhangSan`` and ``zhangsan`` are one account.

WeCom answers ``invaliduser`` lower-cased and a callback may carry a case the roster does not
use, so a person is found by their id in any case: the exact id first (the unique index), then
any case. The roster import already refuses two ids that differ only in case
(:mod:`bot.roster.validate` and the importer compare lower-cased ids), so at most one active
person answers to an id in any case.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Person

# built once: the sender of every callback is looked up with them
_EXACT = (
    sa.select(Person)
    .options(so.joinedload(Person.roles))
    .where(Person.userid == sa.bindparam("userid"), Person.active.is_(True))
)
_ANY_CASE = (
    sa.select(Person)
    .options(so.joinedload(Person.roles))
    .where(sa.func.lower(Person.userid) == sa.bindparam("folded"), Person.active.is_(True))
    .order_by(Person.id)
)


def fold(userid: str) -> str:
    """The form two ids are compared in (WeCom ids are ASCII: letters, digits, ``_-@.``)."""
    return userid.lower()


def folded(userids: Iterable[str]) -> set[str]:
    return {fold(userid) for userid in userids}


def active_person(session: so.Session, userid: str) -> Person | None:
    """The active person whose WeCom id is ``userid`` in any case, with their roles."""
    person = session.execute(_EXACT, {"userid": userid}).unique().scalar_one_or_none()
    if person is not None:
        return person
    return session.execute(_ANY_CASE, {"folded": fold(userid)}).unique().scalars().first()
