"""The records the evidence figures are folded from, read straight from the database: the day
is the day in Asia/Shanghai (a contact at 00:30 Beijing time belongs to that day, not to the
UTC day before), deleted records and other years are left out, a college's mentors only."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.core.models import AcademicYear, MentorAssignment, Record, RecordKind, Role, Unit, UnitKind
from bot.cycle.evidence import record_facts
from scoring import RecordFact
from scoring.rubric import load_rubric
from tests.factories import add_person

ZONE = ZoneInfo("Asia/Shanghai")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)


def test_facts_carry_the_local_day_and_leave_out_deleted_records_and_other_years(database):
    stamp = datetime(2026, 8, 31, tzinfo=UTC)
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        other_year = AcademicYear(
            code="2024-2025", starts_on=date(2024, 9, 1), ends_on=date(2025, 8, 31)
        )
        college = Unit(code="CS", name="计算机学院", kind=UnitKind.COLLEGE)
        other_college = Unit(code="DE", name="数字经济学院", kind=UnitKind.COLLEGE)
        session.add_all([year, other_year, college, other_college])
        session.flush()
        wang = add_person(session, "wang", "王老师", Role.MENTOR)
        liu = add_person(session, "liu", "刘老师", Role.MENTOR)
        session.add_all(
            [
                MentorAssignment(year_id=year.id, mentor_id=wang.id, college_id=college.id),
                MentorAssignment(year_id=year.id, mentor_id=liu.id, college_id=other_college.id),
            ]
        )

        def record(mentor, kind, activity, when, *, year_id=year.id, deleted=False) -> Record:
            return Record(
                year_id=year_id,
                mentor_id=mentor.id,
                kind=kind,
                activity_type=activity,
                occurred_at=when,
                created_at=stamp,
                updated_at=stamp,
                deleted_at=stamp if deleted else None,
            )

        session.add_all(
            [
                record(wang, RecordKind.CONTACT, None, _at(2025, 10, 8, 0, 30)),
                record(wang, RecordKind.CONTACT, None, _at(2025, 10, 8, 23, 59)),
                record(wang, RecordKind.GROUP_ACTIVITY, "读书沙龙", _at(2026, 3, 1, 7, 59)),
                record(wang, RecordKind.CARE, None, _at(2025, 12, 1, 9, 0)),
                record(wang, RecordKind.CONTACT, None, _at(2025, 10, 9, 9), deleted=True),
                record(liu, RecordKind.PUBLICITY, None, _at(2025, 11, 30, 8, 0)),
                record(liu, RecordKind.CONTACT, None, _at(2024, 10, 9, 9), year_id=other_year.id),
            ]
        )
        session.flush()
        ids = {"wang": wang.id, "liu": liu.id}
        college_id = college.id

        every = sorted(record_facts(session, year, ZONE), key=repr)
        of_college = sorted(record_facts(session, year, ZONE, college_id), key=repr)

    wang_facts = [
        RecordFact(ids["wang"], "contact", date(2025, 10, 8), None),
        RecordFact(ids["wang"], "contact", date(2025, 10, 8), None),
        RecordFact(ids["wang"], "group_activity", date(2026, 3, 1), "读书沙龙"),
        RecordFact(ids["wang"], "care", date(2025, 12, 1), None),
    ]
    liu_facts = [RecordFact(ids["liu"], "publicity", date(2025, 11, 30), None)]
    assert every == sorted(wang_facts + liu_facts, key=repr)
    assert of_college == sorted(wang_facts, key=repr)


def test_no_other_statement_runs_while_a_stream_is_open(database):
    """On PostgreSQL an open stream holds the connection: a second statement would wait for
    ever, so it is refused at once, on every back end, and the stream stays readable."""
    stamp = datetime(2026, 8, 31, tzinfo=UTC)
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        session.add(year)
        session.flush()
        wang = add_person(session, "wang", "王老师", Role.MENTOR)
        session.add_all(
            Record(
                year_id=year.id,
                mentor_id=wang.id,
                kind=RecordKind.CONTACT,
                occurred_at=_at(2025, 10, day, 9),
                created_at=stamp,
                updated_at=stamp,
            )
            for day in (8, 9, 10)
        )
        session.flush()
        stream = record_facts(session, year, ZONE)
        first = next(stream)
        with pytest.raises(RuntimeError, match="stream"):
            next(record_facts(session, year, ZONE))
        with pytest.raises(RuntimeError, match="stream"):
            session.execute(sa.select(Record.id)).all()
        rest = list(stream)
        # the stream is done: the connection takes statements again
        assert session.scalar(sa.select(sa.func.count()).select_from(Record)) == 3

    assert sorted([first, *rest]) == [
        RecordFact(wang.id, "contact", date(2025, 10, day), None) for day in (8, 9, 10)
    ]


def test_a_reader_that_stops_early_leaves_a_large_stream_s_transaction_usable(database):
    """Closing psycopg's stream while the server is still sending cancels the statement,
    which aborts the transaction: the rest is read and dropped instead."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("the stream that holds the connection is PostgreSQL's")
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        session.add(year)
        session.flush()
        wang = add_person(session, "wang", "王老师", Role.MENTOR)
        many = sa.select(
            sa.literal(year.id),
            sa.literal(wang.id),
            sa.literal(RecordKind.CONTACT.value),
            sa.literal(""),
            sa.literal(_at(2025, 10, 8, 9)),
            sa.literal(_at(2025, 10, 8, 9)),
            sa.literal(_at(2025, 10, 8, 9)),
        ).select_from(sa.func.generate_series(1, 50_000))
        session.execute(
            sa.insert(Record).from_select(
                [
                    "year_id",
                    "mentor_id",
                    "kind",
                    "title",
                    "occurred_at",
                    "created_at",
                    "updated_at",
                ],
                many,
            )
        )
        first = next(record_facts(session, year, ZONE))
        assert session.scalar(sa.select(sa.func.count()).select_from(Record)) == 50_000
    assert first == RecordFact(wang.id, "contact", date(2025, 10, 8), None)


def test_the_cyclic_collector_is_paused_for_the_fold_only(database, monkeypatch):
    from bot.cycle import evidence

    seen: list[bool] = []

    def failing_fold(*_args, **_kwargs):
        seen.append(gc.isenabled())
        raise ValueError("fold failed")

    monkeypatch.setattr(evidence, "fold_figures", failing_fold)
    with database.session() as session:
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        session.add(year)
        session.flush()
        assert gc.isenabled()
        with pytest.raises(ValueError, match="fold failed"):
            evidence.figures(session, year, load_rubric(), ZONE, [])
        assert gc.isenabled()  # resumed, even though the fold failed
        gc.disable()
        try:
            with pytest.raises(ValueError, match="fold failed"):
                evidence.figures(session, year, load_rubric(), ZONE, [])
            assert not gc.isenabled()  # left as the caller had it
        finally:
            gc.enable()
    assert seen == [False, False]
