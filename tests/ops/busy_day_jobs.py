"""A reminder job for tests/ops/test_several_instances.py, run by `python -m scheduler run`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.calendar import Rules
from bot.core.db import Database
from bot.core.models import Person, Role, RoleGrant
from bot.outbox.queue import Message
from bot.reminders import notify

REMINDER = "今天的交流记录都记了吗？发送“记录”可以查看和补充。"


def remind_mentors(database: Database, now: datetime, *, rules: Rules, prefix: str) -> int:
    """Remind every active mentor whose userid starts with ``prefix``, once per day."""
    with database.session() as session:
        userids = session.scalars(
            sa.select(Person.userid)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(
                RoleGrant.role == Role.MENTOR,
                Person.active.is_(True),
                Person.userid.startswith(prefix),
            )
            .order_by(Person.userid)
        ).all()
        return notify(
            session,
            userids,
            Message.text(REMINDER),
            campaign="busy-day-reminder",
            period=f"{now.astimezone(rules.zone):%Y%m%d}",
            now=now,
            rules=rules,
            urgent=True,
        )
