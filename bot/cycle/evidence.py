"""The database side of the evidence figures: the year's calendar and a stream of
``RecordFact`` values (one query, read in batches), folded by ``scoring.evidence_figures``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.models import AcademicYear, MentorAssignment, Record
from bot.models import Semester as SemesterRow
from scoring import Calendar, DateRange, MentorEvidence, RecordFact, Rubric, Semester
from scoring import evidence_figures as fold_figures

BATCH = 2000


def calendar_for(session: so.Session, year: AcademicYear) -> Calendar:
    semesters = session.scalars(
        sa.select(SemesterRow)
        .where(SemesterRow.year_id == year.id)
        .order_by(SemesterRow.number)
        .options(so.selectinload(SemesterRow.teaching_weeks))
    )
    return Calendar.for_year(
        year.starts_on.year,
        [
            Semester(
                name=f"第{row.number}学期",
                start=row.starts_on,
                end=row.ends_on,
                teaching_weeks=tuple(
                    DateRange(max(w.starts_on, row.starts_on), min(w.ends_on, row.ends_on))
                    for w in row.teaching_weeks
                ),
            )
            for row in semesters
        ],
    )


def record_facts(
    session: so.Session, year: AcademicYear, zone: ZoneInfo, college_id: int | None = None
) -> Iterator[RecordFact]:
    """The year's non-deleted records as facts (of one college's mentors when given)."""
    query = sa.select(Record.mentor_id, Record.kind, Record.occurred_at, Record.items).where(
        Record.year_id == year.id, Record.deleted_at.is_(None)
    )
    if college_id is not None:
        mentors = sa.select(MentorAssignment.mentor_id).where(
            MentorAssignment.year_id == year.id, MentorAssignment.college_id == college_id
        )
        query = query.where(Record.mentor_id.in_(mentors))
    for mentor_id, kind, occurred_at, items in session.execute(
        query.execution_options(yield_per=BATCH)
    ):
        yield RecordFact(
            mentor_id=mentor_id,
            kind=str(kind),
            occurred_on=occurred_at.astimezone(zone).date(),
            items=tuple(items or ()),
        )


def figures(
    session: so.Session,
    year: AcademicYear,
    rubric: Rubric,
    zone: ZoneInfo,
    mentor_ids: Iterable[int],
    college_id: int | None = None,
) -> dict[int, MentorEvidence]:
    """Figures and suggested scores per mentor id, in one pass over the records."""
    result = fold_figures(
        record_facts(session, year, zone, college_id),
        calendar_for(session, year),
        rubric,
        mentors=list(mentor_ids),
    )
    return {int(key): value for key, value in result.items()}  # type: ignore[call-overload]
