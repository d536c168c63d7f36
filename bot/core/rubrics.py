"""Which rubric applies: a cycle's own (named when it opened), and for a year without a cycle
yet the packaged default. Records are read through the rubric of their year, which says what
each record evidences (``Rubric.items_for``)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AssessmentCycle, Record, RecordKind
from scoring import Rubric, load_rubric
from scoring.rubric import DEFAULT_RUBRIC


@lru_cache(maxsize=8)
def rubric_named(name: str) -> Rubric:
    """The packaged rubric file ``scoring/rubrics/{name}.toml``."""
    if name == DEFAULT_RUBRIC:
        return load_rubric()
    return load_rubric(str(resources.files("scoring").joinpath(f"rubrics/{name}.toml")))


def rubric_of(cycle: AssessmentCycle) -> Rubric:
    return rubric_named(cycle.rubric)


def latest_rubric_name() -> sa.ScalarSelect[str]:
    """The rubric the most recently opened cycle names (NULL while there is none), as a scalar
    subquery, so that a query of other rows can read it in the same round trip."""
    latest = sa.select(AssessmentCycle.rubric).order_by(AssessmentCycle.opened_at.desc())
    return latest.limit(1).scalar_subquery()


def current_rubric(session: so.Session) -> Rubric:
    """The rubric of the most recently opened cycle, or the default while there is none."""
    return rubric_or_default(session.scalar(sa.select(latest_rubric_name())))


def rubric_or_default(name: str | None) -> Rubric:
    """The rubric :func:`latest_rubric_name` read, or the default when it read none."""
    return rubric_named(name or DEFAULT_RUBRIC)


def rubric_for_year(session: so.Session, year_id: int) -> Rubric:
    """The rubric of the year's cycle, or the default while the year has none."""
    name = session.scalar(
        sa.select(AssessmentCycle.rubric).where(AssessmentCycle.year_id == year_id)
    )
    return rubric_named(name or DEFAULT_RUBRIC)


def items_counted(session: so.Session, record: Record) -> tuple[str, ...]:
    """The items ``record`` evidences, as the rubric of its year says, in rubric order: the
    same ``Rubric.items_for`` the evidence figures fold with (kind, type, 线上)."""
    rubric = rubric_for_year(session, record.year_id)
    return rubric.items_for(record.kind, record.activity_type, record.online)


def counted_items(session: so.Session, record: Record) -> str:
    """The items a mentor is told a record counts for, from :func:`items_counted`: ``M2、M5``,
    ``无``; a 线上 record also says which items it would have counted for offline:
    ``M5；线上活动不计入 M2（须线下）``."""
    rubric = rubric_for_year(session, record.year_id)
    items = rubric.items_for(record.kind, record.activity_type, record.online)
    text = "、".join(items) or "无"
    if record.online:
        offline = rubric.items_for(record.kind, record.activity_type, False)
        dropped = [item for item in offline if item not in items]
        if dropped:
            text += f"；线上活动不计入 {'、'.join(dropped)}（须线下）"
    return text


def example_item(rubric: Rubric) -> str:
    """The item a usage example names (the examples speak of a semester plan): the first item
    ``rubric`` counts a semester plan for, else its first item."""
    counted = rubric.items_for(RecordKind.SEMESTER_PLAN)
    return counted[0] if counted else rubric.items[0].id
