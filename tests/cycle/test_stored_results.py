"""Results are stored at publication, at each correction and at closing; after publication
everything shown or exported reads them, and once closed nothing recomputes: a retention
purge, a late rating or a roster re-import leaves every result as it was."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    Correction,
    CycleStatus,
    ItemScore,
    MentorAssignment,
    Person,
    Rating,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordKind,
    RecordParticipant,
    ResultSnapshot,
    ResultsReason,
    Role,
)
from bot.cycle import closing, cycles, export, objections, opening, publication, submissions
from bot.cycle.cycles import Env
from bot.cycle.results import compute, current, dump, members, rubric_of, source_of
from bot.cycle.submissions import Scope
from bot.devtools.demo_data import seed_demo
from bot.devtools.demo_roster import DEMO_YEAR, demo_roster_records
from bot.ratings import rules, taps
from bot.ratings.cards import REFUSALS
from bot.ratings.rules import RatingPolicy, TapOutcome
from bot.roster.holders import holders
from bot.roster.import_summary import RosterInvalid
from bot.roster.importer import import_roster
from bot.roster.workbook import RawRoster
from tests.cycle.conftest import END_OF_YEAR, Browser

ENV = Env("http://bot.example", ZoneInfo("Asia/Shanghai"))
PUBLISHED_AT = datetime(2026, 9, 8, 10, 0, tzinfo=UTC)


def _person(session, userid: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.userid == userid))


def _cycle(session, year: str = DEMO_YEAR) -> AssessmentCycle:
    return session.scalar(
        sa.select(AssessmentCycle).join(AcademicYear).where(AcademicYear.code == year)
    )


def _run(session, year: str, now: datetime, *, close: bool, low: int = 0) -> AssessmentCycle:
    """Open, score every item (services, no pages), submit, publish (and close)."""
    office = _person(session, "shuyuan_admin")
    cycle = opening.open_cycle(session, year_code=year, actor=office, now=now, env=ENV)
    rubric = rubric_of(cycle)
    for number, member in enumerate(members(session, cycle)):
        for item in rubric.scored_items:
            session.add(
                ItemScore(
                    cycle_id=cycle.id, mentor_id=member.person.id, item=item.id,
                    source=source_of(rubric, item.id),
                    tenths=int(item.max * 10) - (number + low) % 4, given_by_id=office.id,
                    given_at=now,
                )
            )  # fmt: skip
    session.flush()
    submissions.submit(session, cycle, Scope("academy", None), actor=office, now=now)
    for college in cycles.colleges(session, cycle):
        admin = holders(session, Role.COLLEGE_ADMIN, unit_id=college.id)[0]
        scope = Scope(f"college-{college.id}", college.id)
        submissions.submit(session, cycle, scope, actor=admin, now=now)
    publication.publish(session, cycle, actor=office, now=now, env=ENV, force=True)
    if close:
        closing.close(session, cycle, actor=office, now=now + timedelta(days=10), env=ENV)
    return cycle


def _cells(content: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def _snapshots(session, cycle) -> list[ResultSnapshot]:
    return list(
        session.scalars(
            sa.select(ResultSnapshot)
            .where(ResultSnapshot.cycle_id == cycle.id)
            .order_by(ResultSnapshot.id)
        )
    )


def _shown(app, database, phone) -> dict[str, Any]:
    """Everything that shows or exports the demo year's results, as plain values."""
    with database.session() as session:
        cycle = _cycle(session)
        cycle_id = cycle.id
        results = current(session, cycle)
        mentor_ids = [m.person.userid for m in results.members]
        shown: dict[str, Any] = {
            "per_mentor": dump(results, rubric_of(cycle)),
            "results.xlsx": _cells(export.results_workbook(session, cycle)),
            "outstanding.xlsx": _cells(export.outstanding_workbook(session, cycle)),
            "history.xlsx": _cells(export.history_workbook(session)),
        }
    office = Browser(app, "shuyuan_admin")
    for name in ("results", "outstanding", "history"):
        answer = office.get(f"/m/cycle/{cycle_id}/export/{name}.xlsx")
        assert answer.status_code == 200
        shown[f"page {name}"] = _cells(answer.data)
    college = office.get(f"/m/cycle/{cycle_id}/results.xlsx")
    shown["page results"] = _cells(college.data)
    for userid in mentor_ids[:3]:
        page = Browser(app, userid).get(f"/m/cycle/{cycle_id}/me")
        assert page.status_code == 200
        shown[f"me {userid}"] = page.text
        phone.say(userid, "我的考核")
        card = phone.last_card(userid)
        shown[f"card {userid}"] = (card["main_title"], card["horizontal_content_list"])
    return shown


# --- when results are stored --------------------------------------------------------------------


def test_results_are_stored_at_publication_correction_and_closing(app, database, demo):
    with database.session() as session:
        cycle = _run(session, DEMO_YEAR, PUBLISHED_AT, close=False)
        rubric = rubric_of(cycle)
        [published] = _snapshots(session, cycle)
        assert published.reason == ResultsReason.PUBLISH
        assert published.stored_at == PUBLISHED_AT
        assert (published.mentors, published.colleges) == dump(compute(session, cycle), rubric)
        assert len(published.mentors) == 20
        entry = published.mentors[0]
        assert isinstance(entry["total"], str) and Decimal(entry["total"]) > 0
        assert isinstance(entry["satisfaction"], str)  # the demo year has ratings
        assert set(entry["items"]) >= {"B1", "M8", "A3"}

        # after publication, results are read from what was stored, not from the scores
        first = members(session, cycle)[0].person
        stray = session.scalar(
            sa.select(ItemScore).where(ItemScore.mentor_id == first.id, ItemScore.item == "B6")
        )
        stray.tenths = 0  # a change without a correction (no reason, no audit)
        session.flush()
        assert dump(current(session, cycle), rubric)[0] == published.mentors
        stray.tenths = int(Decimal(published.mentors[0]["items"]["B6"]) * 10)
        session.flush()

        # a correction recomputes and stores the new results; the published ones stay
        office = _person(session, "shuyuan_admin")
        later = PUBLISHED_AT + timedelta(days=1)
        changed = objections.correct(
            session, cycle, mentor=first, item="M1", value=Decimal("2.5"), reason="核实台账",
            actor=office, now=later, env=ENV,
        )  # fmt: skip
        assert first.id in changed
        snapshots = _snapshots(session, cycle)
        assert [s.reason for s in snapshots] == [ResultsReason.PUBLISH, ResultsReason.CORRECT]
        corrected = snapshots[-1]
        correction = session.scalars(sa.select(Correction)).one()
        assert corrected.correction_id == correction.id and corrected.actor_id == office.id
        assert corrected.mentors != published.mentors
        assert corrected.mentors[0]["items"]["M1"] == "2.5"
        assert (corrected.mentors, corrected.colleges) == dump(compute(session, cycle), rubric)
        assert current(session, cycle).snapshot_id == corrected.id
        audits = session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == "store_results")
            .order_by(AuditEntry.id)
        ).all()
        assert [a.after["reason"] for a in audits] == ["publish", "correct"]
        assert audits[-1].before == {"snapshot_id": published.id}

        # closing stores the final results in the same transaction as the status change,
        # copied from the stored ones: closing recomputes nothing
        stray.tenths = 0
        session.flush()
        closed_at = later + timedelta(days=7)
        closing.close(session, cycle, actor=office, now=closed_at, env=ENV)
        final = _snapshots(session, cycle)[-1]
        assert final.reason == ResultsReason.CLOSE and final.stored_at == closed_at
        assert cycle.status == CycleStatus.CLOSED and cycle.closed_at == closed_at
        assert (final.mentors, final.colleges) == (corrected.mentors, corrected.colleges)


def test_closed_results_are_committed_with_the_closing_and_read_only(app, database, demo):
    with database.session() as session:
        cycle = _run(session, DEMO_YEAR, PUBLISHED_AT, close=True)
        reasons = [s.reason for s in _snapshots(session, cycle)]
        assert reasons == [ResultsReason.PUBLISH, ResultsReason.CLOSE]
    with database.session() as session:
        cycle = _cycle(session)
        assert cycle.status == CycleStatus.CLOSED
        assert _snapshots(session, cycle)[-1].stored_at == cycle.closed_at
        office = _person(session, "shuyuan_admin")
        with pytest.raises(cycles.CycleError, match="不能再修改"):
            objections.correct(
                session, cycle, mentor=members(session, cycle)[0].person, item="M1",
                value=Decimal(1), reason="再改", actor=office, now=PUBLISHED_AT, env=ENV,
            )  # fmt: skip


# --- after closing nothing changes ---------------------------------------------------------------


def test_retention_purge_and_late_ratings_leave_closed_results_alone(
    app, database, demo, phone, runner
):
    with database.session() as session:
        _run(session, DEMO_YEAR, PUBLISHED_AT, close=True)
    before = _shown(app, database, phone)
    assert len(before["results.xlsx"]) == 1 + 20
    assert any(row[-1] == "" or row[-1] is None for row in before["results.xlsx"][1:])

    # the cycle closed more than three years ago: retention deletes the individual ratings
    with database.session() as session:
        _cycle(session).closed_at = datetime(2022, 9, 20, tzinfo=UTC)
        assert session.scalar(sa.select(sa.func.count(Rating.id))) > 0
    purged = runner.invoke(args=["retention", "purge"])
    assert purged.exit_code == 0, purged.output
    assert DEMO_YEAR in purged.output
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Rating.id))) == 0
        cycle = _cycle(session)
        recomputed = compute(session, cycle)  # what the old code showed: no ratings at all
        assert all("no_ratings" in r.flags for r in recomputed.assessment.mentors)
        assert dump(recomputed, rubric_of(cycle)) != before["per_mentor"]
    after_purge = _shown(app, database, phone)
    assert after_purge == before
    assert not any("无学生评价" in str(row[-1]) for row in after_purge["results.xlsx"][1:])

    # a late tap on an activity of the closed year is refused, with the reason
    with database.session() as session:
        cycle = _cycle(session)
        assignment = session.scalars(
            sa.select(MentorAssignment).where(MentorAssignment.year_id == cycle.year_id)
        ).first()
        student_id = assignment.students[0].student_id
        now = datetime.now(UTC)
        record = Record(
            year_id=cycle.year_id, mentor_id=assignment.mentor_id,
            kind=RecordKind.GROUP_ACTIVITY, title="八月底的读书沙龙",
            occurred_at=datetime(2026, 8, 30, 10, tzinfo=UTC), created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(record)
        session.flush()
        session.add(RecordParticipant(record_id=record.id, student_id=student_id))
        session.add(
            RatingRequest(
                record_id=record.id, student_id=student_id, task_id="late",
                status=RatingRequestStatus.PENDING, created_at=now,
                expires_at=now + timedelta(days=7), sent_at=now,
            )
        )  # fmt: skip
        session.flush()
        tap = taps.record_tap(
            session, student=session.get(Person, student_id), record_id=record.id, choice=1,
            now=now, policy=RatingPolicy(),
        )  # fmt: skip
        assert tap.outcome == TapOutcome.RESULTS_FIXED
        assert "考核结果已经公示" in REFUSALS[tap.outcome]
        assert session.scalar(sa.select(sa.func.count(Rating.id))) == 0
        # and a rating that is stored anyway (say, imported) counts nowhere
        session.add(Rating(record_id=record.id, student_id=student_id, level=1, created_at=now))
        session.flush()
        assert compute(session, cycle).of(assignment.mentor_id).satisfaction is not None
    assert _shown(app, database, phone) == before


def test_rating_taps_are_refused_once_published_but_not_before():
    base = dict(participant=True, requested=True, lapsed=False, answered=False)
    now = datetime(2026, 9, 3, tzinfo=UTC)
    later = now + timedelta(days=3)
    assert rules.tap_outcome(**base, expires_at=later, now=now) is None
    assert (
        rules.tap_outcome(**base, expires_at=later, now=now, results_fixed=True)
        == TapOutcome.RESULTS_FIXED
    )
    answered = {**base, "answered": True}
    assert (
        rules.tap_outcome(**answered, expires_at=later, now=now, results_fixed=True)
        == TapOutcome.ALREADY_ANSWERED
    )


def test_a_published_year_refuses_taps_too(app, database, demo):
    with database.session() as session:
        cycle = _run(session, DEMO_YEAR, PUBLISHED_AT, close=False)
        rating = session.scalars(
            sa.select(Rating).join(Record).where(Record.year_id == cycle.year_id)
        ).first()
        request = session.scalar(
            sa.select(RatingRequest).where(
                RatingRequest.record_id == rating.record_id,
                RatingRequest.student_id == rating.student_id,
            )
        )
        record_id, student_id = rating.record_id, rating.student_id
        session.delete(rating)
        if request is None:
            request = RatingRequest(
                record_id=record_id, student_id=student_id, task_id="again",
                status=RatingRequestStatus.PENDING, created_at=PUBLISHED_AT,
                expires_at=PUBLISHED_AT, sent_at=PUBLISHED_AT,
            )  # fmt: skip
            session.add(request)
        request.status = RatingRequestStatus.PENDING
        request.expires_at = PUBLISHED_AT + timedelta(days=7)
        session.flush()
        tap = taps.record_tap(
            session, student=session.get(Person, student_id), record_id=record_id, choice=5,
            now=PUBLISHED_AT + timedelta(hours=1), policy=RatingPolicy(),
        )  # fmt: skip
        assert tap.outcome == TapOutcome.RESULTS_FIXED


def test_roster_reimport_into_a_closed_year_is_refused(app, database, demo, phone):
    with database.session() as session:
        _run(session, DEMO_YEAR, PUBLISHED_AT, close=True)
    before = _shown(app, database, phone)
    rows = demo_roster_records(seed=2025, year=DEMO_YEAR)
    first = rows["assignments"][0]  # a student moves to another mentor of the same college
    other = next(
        r["mentor"]
        for r in rows["assignments"]
        if r["college"] == first["college"] and r["mentor"] != first["mentor"]
    )
    rows["assignments"] = [{**first, "mentor": other}, *rows["assignments"][1:]]
    with database.session() as session:
        assignments = session.scalar(sa.select(sa.func.count(MentorAssignment.id)))
        with pytest.raises(RosterInvalid) as refused:
            import_roster(
                session, RawRoster.from_records(rows), year=DEMO_YEAR, today=date(2026, 10, 8)
            )
        text = "\n".join(str(issue) for issue in refused.value.issues)
        assert text in str(refused.value)  # a traceback lists the rows too
        assert f"分配：{DEMO_YEAR} 学年的导师考核已经结束，结果已确定，不能再导入" in text
        assert "校历 第" in text and "不能再修改该学年的校历" in text
        assert session.scalar(sa.select(sa.func.count(MentorAssignment.id))) == assignments
    # the same people without assignments and calendar: people are still updated
    people_only = {**rows, "assignments": [], "calendar": []}
    with database.session() as session:
        summary = import_roster(
            session, RawRoster.from_records(people_only), year=DEMO_YEAR, today=date(2026, 10, 8)
        )
        assert summary.assignments_untouched
    assert _shown(app, database, phone) == before


def test_the_demo_restarts_on_a_published_year(app, database, demo):
    """make demo after 公示: the roster of the published year is kept as it is (no longer
    RosterInvalid), records due since are added, and every result stays as it was."""
    with database.session() as session:
        _run(session, DEMO_YEAR, PUBLISHED_AT, close=False)

    def shown() -> tuple[Any, Any]:
        with database.session() as session:
            cycle = _cycle(session)
            return (
                dump(current(session, cycle), rubric_of(cycle)),
                _cells(export.results_workbook(session, cycle)),
            )

    before = shown()
    with app.app_context():
        again = seed_demo(database, now=END_OF_YEAR + timedelta(days=1))
    assert again.roster.year == DEMO_YEAR and again.records > 0
    assert str(again).startswith("3 个学院、20 位导师、300 名学生")
    assert shown() == before


def test_history_export_reads_the_stored_results_of_every_closed_year(app, database, demo):
    with database.session() as session:
        current_year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == DEMO_YEAR))
        earlier = AcademicYear(
            code="2024-2025", starts_on=date(2024, 9, 1), ends_on=date(2025, 8, 31)
        )
        session.add(earlier)
        session.flush()
        for assignment in session.scalars(
            sa.select(MentorAssignment).where(MentorAssignment.year_id == current_year.id)
        ).all():
            session.add(
                MentorAssignment(
                    year_id=earlier.id,
                    mentor_id=assignment.mentor_id,
                    college_id=assignment.college_id,
                )
            )
        session.flush()
        _run(session, "2024-2025", PUBLISHED_AT - timedelta(days=365), close=True, low=1)
        _run(session, DEMO_YEAR, PUBLISHED_AT, close=True)
    with database.session() as session:
        history = _cells(export.history_workbook(session))
    years = [row[2] for row in history[1:]]
    assert years.count("2024-2025") == 20 and years.count(DEMO_YEAR) == 20
    assert any(isinstance(row[9], int | float) for row in history[1:])

    # the earlier year's scores and assignments change afterwards: the record does not
    with database.session() as session:
        cycle = _cycle(session, "2024-2025")
        session.execute(sa.update(ItemScore).where(ItemScore.cycle_id == cycle.id).values(tenths=0))
        session.execute(
            sa.delete(MentorAssignment).where(MentorAssignment.year_id == cycle.year_id)
        )
        session.flush()
        assert compute(session, cycle).members == []  # what the old export would have used
        assert _cells(export.history_workbook(session)) == history


def test_a_cycle_published_before_results_were_stored_is_stored_once(app, database, demo, runner):
    with database.session() as session:
        cycle = _run(session, DEMO_YEAR, PUBLISHED_AT, close=True)
        expected = dump(current(session, cycle), rubric_of(cycle))
        session.execute(sa.delete(ResultSnapshot))  # as if closed before revision 0003
    stored = runner.invoke(args=["cycle", "store-results", DEMO_YEAR])
    assert stored.exit_code == 0, stored.output
    assert "已保存 2025-2026 学年 20 位导师的考核结果" in stored.output
    again = runner.invoke(args=["cycle", "store-results", DEMO_YEAR])
    assert "无需补存" in again.output
    with database.session() as session:
        cycle = _cycle(session)
        [snapshot] = _snapshots(session, cycle)
        assert snapshot.reason == ResultsReason.BACKFILL
        assert dump(current(session, cycle), rubric_of(cycle)) == expected
