"""From the database to ``scoring.evaluate``: the cycle's saved scores and the year's ratings
become ``MentorInput`` values; the engine does every rule (parts, bands, ranks, outstanding).

Results are computed only while scores may still change: while the cycle is open (nothing is
shown then) and, after publication, for a correction during the objection period. Publication,
each correction and closing store what was computed (:class:`bot.core.models.ResultSnapshot`);
from publication on, :func:`current` reads the newest stored results and never recomputes, so
a closed cycle's results are read-only whatever happens to ratings, rosters or records later.
The stored results keep the numbers (parts, satisfaction, totals, ranks, outstanding, flags,
item scores) and the college and unit of each mentor; a mentor's name and staff number are
read from the person as they are now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    ItemScore,
    MentorAssignment,
    Person,
    Rating,
    Record,
    ResultSnapshot,
    ScoreSource,
    Unit,
)
from bot.core.rubrics import rubric_named, rubric_of
from scoring import Assessment, MentorInput, MentorResult, Rubric, evaluate
from scoring.engine import CollegeResult
from scoring.numbers import fmt


def college_item_ids(rubric: Rubric) -> list[str]:
    """What a college scores: its B and M items and the bonus (E) items."""
    return [i.id for i in rubric.items if rubric.role_of(i.id) in ("college", "bonus")]


def academy_item_ids(rubric: Rubric) -> list[str]:
    return [i.id for i in rubric.items if rubric.role_of(i.id) == "academy"]


def source_of(rubric: Rubric, item_id: str) -> ScoreSource:
    return ScoreSource.ACADEMY if rubric.role_of(item_id) == "academy" else ScoreSource.COLLEGE


@dataclass(frozen=True)
class Member:
    """A mentor of the cycle's year with the college that assesses them and their own unit
    (the unit as it was when the results were stored, for stored results)."""

    person: Person
    college: Unit
    unit: Unit | None = None


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
    return [Member(person, unit, person.unit) for person, unit in session.execute(query)]


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


Scores = Mapping[tuple[int, str, ScoreSource], ItemScore]


@dataclass(frozen=True)
class Results:
    """Every mentor's result, the members in order, and the item scores they were computed
    from (``scores`` as :func:`saved_scores` gives them; for stored results, only the scores
    that count, as unsaved ``ItemScore`` values). ``snapshot_id`` is set for stored results."""

    assessment: Assessment
    members: list[Member]
    scores: Scores = field(default_factory=dict)
    snapshot_id: int | None = None

    def of(self, person_id: int) -> MentorResult:
        return self.assessment.mentor(str(person_id))

    def member(self, person_id: int) -> Member:
        return next(m for m in self.members if m.person.id == person_id)

    def has(self, person_id: int) -> bool:
        return any(m.person.id == person_id for m in self.members)


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
    return Results(evaluate(inputs, rubric), people, scores)


# --- stored results --------------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def counted_items(rubric: Rubric) -> list[str]:
    """The items whose scores make a result: B, M, E (college) and A (academy)."""
    return [i.id for i in rubric.items if rubric.role_of(i.id) != "satisfaction"]


def dump(results: Results, rubric: Rubric) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(mentors, colleges) of ``results`` as JSON values: decimals as strings, never floats."""
    mentors = []
    for member in results.members:
        pid = member.person.id
        result = results.of(pid)
        items, notes = {}, {}
        for item in counted_items(rubric):
            saved = results.scores.get((pid, item, source_of(rubric, item)))
            if saved is not None:
                items[item] = str(Decimal(saved.tenths) / 10)
                if saved.note:
                    notes[item] = saved.note
        mentors.append(
            {
                "person_id": pid,
                "college_id": member.college.id,
                "unit_id": member.unit.id if member.unit else None,
                "college": result.college,
                "status": result.status,
                "college_points": str(result.college_points),
                "academy_points": str(result.academy_points),
                "satisfaction": _text(result.satisfaction),
                "satisfaction_points": str(result.satisfaction_points),
                "satisfaction_hidden": result.satisfaction_hidden,
                "bonus_points": str(result.bonus_points),
                "total": _text(result.total),
                "rank": result.rank,
                "outstanding": result.outstanding,
                "flags": list(result.flags),
                "missing": list(result.missing),
                "items": items,
                "notes": notes,
            }
        )
    colleges = [
        {
            "college": c.college,
            "ranked": c.ranked,
            "quota": c.quota,
            "outstanding": list(c.outstanding),
            "flags": list(c.flags),
        }
        for c in results.assessment.colleges
    ]
    return mentors, colleges


def load_assessment(mentors: list[dict[str, Any]], colleges: list[dict[str, Any]]) -> Assessment:
    """The :class:`Assessment` stored by :func:`dump`, exactly."""
    return Assessment(
        tuple(
            MentorResult(
                id=str(m["person_id"]),
                college=m["college"],
                status=m["status"],
                college_points=Decimal(m["college_points"]),
                academy_points=Decimal(m["academy_points"]),
                satisfaction=_decimal(m["satisfaction"]),
                satisfaction_points=Decimal(m["satisfaction_points"]),
                bonus_points=Decimal(m["bonus_points"]),
                total=_decimal(m["total"]),
                rank=m["rank"],
                outstanding=m["outstanding"],
                flags=tuple(m["flags"]),
                missing=tuple(m["missing"]),
                satisfaction_hidden=m.get("satisfaction_hidden", False),
            )
            for m in mentors
        ),
        tuple(
            CollegeResult(
                college=c["college"],
                ranked=c["ranked"],
                quota=c["quota"],
                outstanding=tuple(c["outstanding"]),
                flags=tuple(c["flags"]),
            )
            for c in colleges
        ),
    )


def latest_snapshot(session: so.Session, cycle: AssessmentCycle) -> ResultSnapshot | None:
    """The cycle's newest stored results, or None (open, or published before they were stored)."""
    return session.scalar(
        sa.select(ResultSnapshot)
        .where(ResultSnapshot.cycle_id == cycle.id)
        .order_by(ResultSnapshot.id.desc())
        .limit(1)
    )


def from_snapshot(session: so.Session, cycle: AssessmentCycle, snapshot: ResultSnapshot) -> Results:
    """Stored results with their people and units (two queries); nothing is recomputed."""
    rubric = rubric_named(snapshot.rubric)
    person_ids = [m["person_id"] for m in snapshot.mentors]
    unit_ids = {m["college_id"] for m in snapshot.mentors}
    unit_ids |= {m["unit_id"] for m in snapshot.mentors if m.get("unit_id") is not None}
    people = {p.id: p for p in session.scalars(sa.select(Person).where(Person.id.in_(person_ids)))}
    units = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(unit_ids)))}
    found, scores = [], {}
    saved_notes = None  # results stored before the bonus names were: the saved ones
    if any("notes" not in entry for entry in snapshot.mentors):
        saved_notes = {
            (s.mentor_id, s.item): s.note
            for s in session.scalars(
                sa.select(ItemScore).where(
                    ItemScore.cycle_id == cycle.id, ItemScore.note.is_not(None)
                )
            )
        }
    for entry in snapshot.mentors:
        pid = entry["person_id"]
        unit_id = entry.get("unit_id")
        found.append(
            Member(
                people[pid], units[entry["college_id"]], None if unit_id is None else units[unit_id]
            )
        )
        notes = entry.get("notes")  # a bonus item's competition or paper
        if notes is None:
            notes = {item: note for (who, item), note in (saved_notes or {}).items() if who == pid}
        for item, value in entry["items"].items():
            source = source_of(rubric, item)
            scores[(pid, item, source)] = ItemScore(
                cycle_id=cycle.id, mentor_id=pid, item=item, source=source,
                tenths=int(Decimal(value) * 10), note=notes.get(item),
            )  # fmt: skip
    assessment = load_assessment(snapshot.mentors, snapshot.colleges)
    return Results(assessment, found, scores, snapshot.id)


def current(session: so.Session, cycle: AssessmentCycle) -> Results:
    """The results as everyone sees them: after publication the stored ones (never
    recomputed); while the cycle is open, computed now. A cycle published before results
    were stored is computed too, until ``flask --app bot cycle store-results`` stores it."""
    if cycle.status != CycleStatus.OPEN:
        snapshot = latest_snapshot(session, cycle)
        if snapshot is not None:
            return from_snapshot(session, cycle, snapshot)
    return compute(session, cycle)


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
