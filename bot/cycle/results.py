"""From the database to ``scoring.evaluate``: the cycle's saved scores and the year's ratings
become ``MentorInput`` values; the engine does every rule (parts, bands, ranks, outstanding)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.models import (
    AssessmentCycle,
    ItemScore,
    MentorAssignment,
    Person,
    Rating,
    Record,
    ScoreSource,
    Unit,
)
from scoring import Assessment, MentorInput, MentorResult, Rubric, evaluate, load_rubric
from scoring.numbers import fmt
from scoring.rubric import DEFAULT_RUBRIC


@lru_cache(maxsize=8)
def rubric_named(name: str) -> Rubric:
    if name == DEFAULT_RUBRIC:
        return load_rubric()
    from importlib import resources

    path = resources.files("scoring").joinpath(f"rubrics/{name}.toml")
    return load_rubric(str(path))


def rubric_of(cycle: AssessmentCycle) -> Rubric:
    return rubric_named(cycle.rubric)


def college_item_ids(rubric: Rubric) -> list[str]:
    """What a college scores: its B and M items and the bonus (E) items."""
    return [i.id for i in rubric.items if rubric.role_of(i.id) in ("college", "bonus")]


def academy_item_ids(rubric: Rubric) -> list[str]:
    return [i.id for i in rubric.items if rubric.role_of(i.id) == "academy"]


def source_of(rubric: Rubric, item_id: str) -> ScoreSource:
    return ScoreSource.ACADEMY if rubric.role_of(item_id) == "academy" else ScoreSource.COLLEGE


@dataclass(frozen=True)
class Member:
    """A mentor of the cycle's year with the college that assesses them."""

    person: Person
    college: Unit


def members(
    session: so.Session, cycle: AssessmentCycle, college_id: int | None = None
) -> list[Member]:
    query = (
        sa.select(Person, Unit)
        .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
        .join(Unit, Unit.id == MentorAssignment.college_id)
        .where(MentorAssignment.year_id == cycle.year_id)
        .order_by(Unit.code, Person.number)
        .options(so.selectinload(Person.unit))
    )
    if college_id is not None:
        query = query.where(MentorAssignment.college_id == college_id)
    return [Member(person, unit) for person, unit in session.execute(query)]


def saved_scores(
    session: so.Session, cycle: AssessmentCycle, source: ScoreSource | None = None
) -> dict[tuple[int, str, ScoreSource], ItemScore]:
    query = sa.select(ItemScore).where(ItemScore.cycle_id == cycle.id)
    if source is not None:
        query = query.where(ItemScore.source == source)
    return {(s.mentor_id, s.item, s.source): s for s in session.scalars(query)}


def activity_ratings(
    session: so.Session, cycle: AssessmentCycle
) -> dict[int, list[tuple[int, ...]]]:
    """Per mentor: the levels of attended ratings, one tuple per rated record (one query)."""
    rows = session.execute(
        sa.select(Record.mentor_id, Rating.record_id, Rating.level)
        .join(Record, Record.id == Rating.record_id)
        .where(
            Record.year_id == cycle.year_id,
            Record.deleted_at.is_(None),
            Rating.attended.is_(True),
            Rating.level.is_not(None),
        )
        .order_by(Record.mentor_id, Rating.record_id)
    )
    per_record: dict[tuple[int, int], list[int]] = {}
    for mentor_id, record_id, level in rows:
        per_record.setdefault((mentor_id, record_id), []).append(level)
    result: dict[int, list[tuple[int, ...]]] = {}
    for (mentor_id, _record), levels in per_record.items():
        result.setdefault(mentor_id, []).append(tuple(levels))
    return result


@dataclass(frozen=True)
class Results:
    assessment: Assessment
    members: list[Member]

    def of(self, person_id: int) -> MentorResult:
        return self.assessment.mentor(str(person_id))

    def member(self, person_id: int) -> Member:
        return next(m for m in self.members if m.person.id == person_id)


def compute(session: so.Session, cycle: AssessmentCycle) -> Results:
    """Every mentor's result now, from the saved college and academy scores and the ratings."""
    rubric = rubric_of(cycle)
    people = members(session, cycle)
    scores = saved_scores(session, cycle)
    ratings = activity_ratings(session, cycle)
    bonus_ids = {i.id for i in rubric.bonus_items}
    inputs = []
    for member in people:
        pid = member.person.id
        item_scores: dict[str, Decimal] = {}
        bonus = set()
        for item in rubric.items:
            saved = scores.get((pid, item.id, source_of(rubric, item.id)))
            if saved is None:
                continue
            if item.id in bonus_ids:
                if saved.tenths > 0:
                    bonus.add(item.id)
            elif rubric.role_of(item.id) in ("college", "academy"):
                item_scores[item.id] = Decimal(saved.tenths) / 10
        inputs.append(
            MentorInput(
                id=str(pid),
                college=member.college.name,
                item_scores=item_scores,
                bonus=frozenset(bonus),
                activity_ratings=tuple(ratings.get(pid, ())),
            )
        )
    return Results(evaluate(inputs, rubric), people)


def summary_line(result: MentorResult) -> str:
    """One line for lists: total, rank and outstanding, or what is missing."""
    if result.total is None:
        return f"未完成（缺 {'、'.join(result.missing)}）"
    line = f"总分 {fmt(result.total)}，学院排名第 {result.rank}"
    return line + ("，优秀导师" if result.outstanding else "")


def fingerprint(result: MentorResult) -> tuple[object, ...]:
    """What a mentor is told about: a change here means a new result card."""
    return (
        result.college_points,
        result.academy_points,
        result.satisfaction_points,
        result.bonus_points,
        result.total,
        result.rank,
        result.outstanding,
    )
