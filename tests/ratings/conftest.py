"""A small university (from the record tests) plus group activities ready to be rated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import OutboxMessage, Record, RecordKind, RecordParticipant
from bot.ratings.rules import RatingPolicy
from tests.live import LiveApp, serve
from tests.records.conftest import Phone, World, build_world

POLICY = RatingPolicy()


#: the four students of the live app's activities
FOUR = ["zhangsan", "lisi", "zhousong", "wangwu1"]


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    """The whole app served on a local port with the simulator: the records world, and its
    people in the simulator's contact book."""
    with serve(settings_overrides) as live:
        world = build_world(get_database(live.app))
        for userid in (*FOUR, "wangwu2", "zhaoliu", "wanglaoshi", "cs_admin", "academy"):
            live.simulator.state.add_user(userid, userid)
        live.world = world  # type: ignore[attr-defined]
        yield live


@pytest.fixture
def world(database) -> World:
    return build_world(database)


@pytest.fixture
def phone(app, client, database) -> Phone:
    return Phone(app, client, database)


def add_activity(
    database,
    world: World,
    students: list[str],
    *,
    ended: timedelta = timedelta(hours=3),
    title: str = "读书沙龙",
    mentor: str = "wanglaoshi",
    now: datetime | None = None,
) -> int:
    """A group activity of ``mentor`` that ended ``ended`` before ``now``."""
    now = now or datetime.now(UTC)
    with database.session() as session:
        record = Record(
            year_id=world.year_id,
            mentor_id=world.ids[mentor],
            kind=RecordKind.GROUP_ACTIVITY,
            activity_type="读书沙龙",
            title=title,
            occurred_at=now - ended - timedelta(hours=2),
            created_at=now,
            updated_at=now,
        )
        record.participants = [RecordParticipant(student_id=world.ids[s]) for s in students]
        session.add(record)
        session.flush()
        return record.id


def outbox_rows(
    database, msgtype: str | None = None, userid: str | None = None
) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if msgtype:
        query = query.where(OutboxMessage.msgtype == msgtype)
    if userid:
        query = query.where(OutboxMessage.userid == userid)
    with database.session() as session:
        return list(session.scalars(query))
