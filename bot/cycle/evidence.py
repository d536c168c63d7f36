"""The database side of the evidence figures: the year's calendar (teaching weeks, with
China's official working days: public holidays off, make-up days on) and the stream of its
records (one query, read in batches, as the driver's rows), folded by
``scoring.evidence_figures``."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.calendar import is_working_day
from bot.core.models import AcademicYear, MentorAssignment, Record
from bot.core.models import Semester as SemesterRow
from scoring import Calendar, DateRange, Encoding, MentorEvidence, RecordFact, Rubric, Semester
from scoring import evidence_figures as fold_figures

BATCH = 20_000


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
        workday=is_working_day,
    )


def record_rows(
    session: so.Session, year: AcademicYear, zone: ZoneInfo, college_id: int | None = None
) -> tuple[Iterator[tuple[int, str, Any, str | None, bool | None]], Encoding]:
    """The year's non-deleted records (of one college's mentors when given) as the driver's
    rows in RecordFact's field order, and the :class:`~scoring.Encoding` of their day.

    Millions of rows pass here, so nothing is converted per row: the kind and the activity
    type are their stored strings (a handful of distinct values), the day the date in ``zone``
    computed by PostgreSQL, or on SQLite the stored UTC hour as text ("YYYY-MM-DD HH"); the
    fold decodes each distinct value once."""
    record = Record.__table__.c  # plain Core columns: no ORM row processing
    if session.get_bind().dialect.name == "postgresql":
        moment = sa.cast(sa.func.timezone(zone.key, record.occurred_at), sa.Date)
        encoding = Encoding()
    else:
        moment = sa.func.substr(sa.type_coerce(record.occurred_at, sa.String), 1, 13)

        def local_day(utc_hour: str) -> date:
            utc = datetime.fromisoformat(utc_hour + ":00").replace(tzinfo=UTC)
            return utc.astimezone(zone).date()

        encoding = Encoding(day=local_day)
    query = sa.select(
        record.mentor_id,
        sa.type_coerce(record.kind, sa.String),
        moment,
        record.activity_type,
        record.online,
    ).where(record.year_id == year.id, record.deleted_at.is_(None))
    if college_id is not None:
        assigned = MentorAssignment.__table__.c
        mentors = sa.select(assigned.mentor_id).where(
            assigned.year_id == year.id, assigned.college_id == college_id
        )
        query = query.where(record.mentor_id.in_(mentors))
    rows = itertools.chain.from_iterable(_driver_batches(session.connection(), query))
    return rows, encoding


def record_facts(
    session: so.Session, year: AcademicYear, zone: ZoneInfo, college_id: int | None = None
) -> Iterator[RecordFact]:
    """:func:`record_rows` decoded, one RecordFact per record (to look at them; the figures
    fold the rows as they come)."""
    rows, encoding = record_rows(session, year, zone, college_id)
    for mentor_id, kind, day, activity, online in rows:
        yield RecordFact(mentor_id, kind, encoding.day(day), activity, _boolean(online))


def _boolean(value: Any) -> bool | None:
    """SQLite's driver gives a boolean column as 0 / 1."""
    return None if value is None else bool(value)


_STREAM_OPEN = "evidence_stream_open"


def _driver_batches(connection: sa.Connection, query: sa.Select) -> Iterator[list[tuple]]:
    """The rows of ``query`` as lists of BATCH of the driver's plain tuples, in the
    connection's transaction: the statement is compiled by SQLAlchemy and its parameters
    passed separately, but the rows skip SQLAlchemy's result layer, which costs more than
    reading them (about 1 µs a row, for millions of rows). Only for columns that need no
    result conversion: integers, text and, on PostgreSQL, dates.

    On PostgreSQL the rows come through psycopg's ``stream`` in chunks of BATCH (a third of
    the time of a server-side cursor's FETCHes), which keeps the connection busy until the
    last row is read: so, on every back end, no other statement may run on the connection
    while a stream is open, and trying raises instead of waiting for ever."""
    if connection.info.get(_STREAM_OPEN):
        raise RuntimeError("a record stream is already open on this connection: read it first")
    compiled = query.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    if compiled.positiontup is not None:  # SQLite's "?" placeholders
        parameters: Any = tuple(params[name] for name in compiled.positiontup)
    else:
        parameters = params
    driver = connection.connection.dbapi_connection
    assert driver is not None
    cursor = driver.cursor()
    connection.info[_STREAM_OPEN] = True
    sa.event.listen(connection, "before_cursor_execute", _refuse_while_streaming)
    try:
        if connection.dialect.name == "postgresql":
            rows = cursor.stream(str(compiled), parameters, size=BATCH)
            try:
                # a reader that stops early leaves ``rows`` open: closing the stream would
                # cancel the statement and so abort the whole transaction
                while batch := list(itertools.islice(rows, BATCH)):
                    yield batch
            finally:
                for _ in rows:  # the rest is read and dropped
                    pass
        else:
            cursor.execute(str(compiled), parameters)
            while batch := cursor.fetchmany(BATCH):
                yield batch
    finally:
        cursor.close()
        sa.event.remove(connection, "before_cursor_execute", _refuse_while_streaming)
        del connection.info[_STREAM_OPEN]


def _refuse_while_streaming(*_args: Any) -> None:
    raise RuntimeError("a record stream is open on this connection: read it before another query")


def figures(
    session: so.Session,
    year: AcademicYear,
    rubric: Rubric,
    zone: ZoneInfo,
    mentor_ids: Iterable[int],
    college_id: int | None = None,
    *,
    now: datetime | None = None,
) -> dict[int, MentorEvidence]:
    """Figures and suggested scores per mentor id, in one pass over the records. ``now``:
    while the year is not over (a cycle opened early), only the periods ended before today
    count, and the figures say so."""
    calendar = calendar_for(session, year)
    rows, encoding = record_rows(session, year, zone, college_id)
    as_of = None if now is None else now.astimezone(zone).date()
    with _cyclic_collector_paused():
        result = fold_figures(
            rows, calendar, rubric, mentors=list(mentor_ids), encoding=encoding, as_of=as_of
        )
    return {int(key): value for key, value in result.items()}  # type: ignore[call-overload]


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Millions of short-lived row tuples pass through the fold and none is in a reference
    cycle (reference counting frees each at once), but their allocations keep setting off the
    cyclic collector, which then rescans the growing tallies: a fifth of the time. It is paused
    for the fold and resumed after it, as it was (the process's setting, for every thread)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
