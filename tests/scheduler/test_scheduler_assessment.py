"""The assessment calendar works off AssessmentCycle.deadlines and Submission rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from bot.calendar import is_working_day
from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    MentorAssignment,
    OutboxMessage,
    OutboxStatus,
    OverdueEscalation,
    Person,
    Role,
    RoleGrant,
    Submission,
    Unit,
)
from bot.cycle.reminders import assessment_calendar, assessment_opening, opening_days
from bot.ops.retention.prune import prune_job
from tests.scheduler.conftest import RULES, SHANGHAI


def at(*parts: int) -> datetime:
    return datetime(*parts, 9, 23, tzinfo=SHANGHAI)


def _cycle(database, deadlines, status=CycleStatus.OPEN) -> int:
    with database.session() as session:
        year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == "2025-2026"))
        cycle = AssessmentCycle(
            year_id=year.id,
            status=status,
            rubric="2021",
            deadlines=deadlines,
            opened_at=datetime(2026, 8, 28, 10, 0, tzinfo=SHANGHAI),
        )
        session.add(cycle)
        session.flush()
        return cycle.id


def _sent(database) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    with database.session() as session:
        for row in session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)):
            campaign, period, userid = row.key.split(":")
            keys.setdefault(f"{campaign}:{period}", []).append(userid)
    return keys


def _run_days(database, *days) -> None:
    for day in days:
        assessment_calendar(database, at(*day), rules=RULES)
        assessment_calendar(database, at(*day), rules=RULES)  # twice: nothing new


def test_reminders_three_and_one_day_before_then_overdue_to_the_college_head(demo):
    cycle_id = _cycle(demo, {"self": "2026-09-04", "college": {"due": "2026-09-09"}})
    with demo.session() as session:
        mentors = session.execute(
            sa.select(Person.id, Person.userid)
            .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
            .order_by(Person.id)
        ).all()
        sysadmin = session.scalar(sa.select(Person.id).where(Person.userid == "sysadmin"))
        cs_id = session.scalar(sa.select(Unit.id).where(Unit.code == "CS"))
    _run_days(demo, (2026, 8, 31))
    assert _sent(demo) == {}
    _run_days(demo, (2026, 9, 1))  # Tuesday, 3 days before 4 Sep
    assert len(_sent(demo)[f"assessment:{cycle_id}-self-d3"]) == len(mentors)
    with demo.session() as session:  # all but wanglaoshi submit their summary
        for person_id, userid in mentors:
            if userid != "wanglaoshi":
                session.add(
                    Submission(
                        cycle_id=cycle_id,
                        step="self",
                        subject_id=person_id,
                        submitted_by_id=person_id,
                        submitted_at=at(2026, 9, 2),
                    )
                )
    _run_days(demo, (2026, 9, 2))
    assert len(_sent(demo)) == 1
    _run_days(demo, (2026, 9, 3))  # Thursday, 1 day before: only wanglaoshi is left
    assert _sent(demo)[f"assessment:{cycle_id}-self-d1"] == ["wanglaoshi"]
    # college scores due Wednesday 9 Sep: 3 days before is Sunday → Friday 4 Sep
    _run_days(demo, (2026, 9, 4), (2026, 9, 5), (2026, 9, 6))
    sent = _sent(demo)
    college_admins = sent[f"assessment:{cycle_id}-college-d3"]
    assert {"cs_admin", "ice_admin", "de_admin", "zhaolaoshi"} == set(college_admins)
    # Monday 7 Sep: the summary is overdue; only the head of wanglaoshi's assessing college
    _run_days(demo, (2026, 9, 7))
    sent = _sent(demo)
    assert sent[f"assessment_overdue:{cycle_id}-self-{cs_id}"] == ["cs_dean"]
    with demo.session() as session:
        row = session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.key.like("assessment_overdue:%"))
        )
        text = row.payload["text"]["content"]
        assert "王建国" in text and "1 位导师" in text and "9月4日" in text
        session.add(
            Submission(
                cycle_id=cycle_id,
                step="college",
                subject_id=cs_id,
                submitted_by_id=sysadmin,
                submitted_at=at(2026, 9, 8),
            )
        )
    _run_days(demo, (2026, 9, 8), (2026, 9, 10), (2026, 9, 11))
    sent = _sent(demo)
    assert sorted(sent[f"assessment:{cycle_id}-college-d1"]) == sorted(
        ["ice_admin", "de_admin", "zhaolaoshi"]
    )
    overdue = {key: who for key, who in sent.items() if "college" in key and "overdue" in key}
    assert sorted(who for users in overdue.values() for who in users) == ["de_dean", "ice_dean"]


def test_closed_cycles_and_unknown_steps_are_left_alone(demo):
    _cycle(demo, {"self": "2026-09-04"}, status=CycleStatus.CLOSED)
    _run_days(demo, (2026, 9, 1), (2026, 9, 7))
    assert _sent(demo) == {}
    with demo.session() as session:
        session.execute(sa.delete(AssessmentCycle))
    _cycle(demo, {"no_such_step": "2026-09-04", "self": "not a date"})
    _run_days(demo, (2026, 9, 1), (2026, 9, 7))
    assert _sent(demo) == {}


def test_no_assessment_reminder_on_a_day_off(demo):
    _cycle(demo, {"self": "2026-09-04"})
    assert assessment_calendar(demo, at(2026, 9, 5), rules=RULES) == 0  # Saturday


# --- the escalation stays made, whatever the outbox pruning deletes ------------------------


def _overdue(database) -> dict[str, list[str]]:
    return {key: who for key, who in _sent(database).items() if "assessment_overdue" in key}


def _deliver_all(database, now) -> None:
    """What the sender does to the rows it delivered."""
    with database.session() as session:
        session.execute(
            sa.update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=now, available_at=now)
        )


def _working_day_after(day: date, days: int) -> date:
    day += timedelta(days=days)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _prune_and_run_again(app, database, escalated: date) -> None:
    """Deliver everything, then, a working day more than OUTBOX_KEEP_DAYS later (the cycle
    still open), prune the outbox as the nightly job does and run the calendar again."""
    _deliver_all(database, at(escalated.year, escalated.month, escalated.day))
    keep_days = app.extensions["settings"].OUTBOX_KEEP_DAYS
    later = _working_day_after(escalated, keep_days + 1)
    with app.app_context():  # OUTBOX_KEEP_DAYS of the app, as in the scheduler process
        prune_job(database, datetime(later.year, later.month, later.day, 3, 47, tzinfo=SHANGHAI))
    assert _sent(database) == {}  # the delivered rows, escalations included, are gone
    _run_days(database, (later.year, later.month, later.day))


def test_an_overdue_step_is_escalated_once_even_after_the_outbox_is_pruned(app, demo):
    cycle_id = _cycle(demo, {"self": "2026-09-04"})  # nobody submits
    with demo.session() as session:
        units = {code: unit_id for code, unit_id in session.execute(sa.select(Unit.code, Unit.id))}
    _run_days(demo, (2026, 9, 7))  # Monday: overdue, every college head hears once
    assert _overdue(demo) == {
        f"assessment_overdue:{cycle_id}-self-{units[code]}": [head]
        for code, head in (("CS", "cs_dean"), ("ICE", "ice_dean"), ("DE", "de_dean"))
    }

    _prune_and_run_again(app, demo, date(2026, 9, 7))
    assert _overdue(demo) == {}  # the heads were told already
    assert any(key.startswith("assessment_late:") for key in _sent(demo))  # the late still are
    with demo.session() as session:  # what holds it: one row per cycle, step and unit
        made = session.execute(
            sa.select(OverdueEscalation.cycle_id, OverdueEscalation.step, OverdueEscalation.unit_id)
        ).all()
    assert sorted(made) == sorted((cycle_id, "self", units[code]) for code in ("CS", "ICE", "DE"))


def test_an_escalation_queued_before_the_table_existed_is_not_repeated(app, demo):
    """After the upgrade the outbox key still holds: the escalation is recorded without a
    second message, and after the pruning the record holds."""
    _cycle(demo, {"self": "2026-09-04"})
    _run_days(demo, (2026, 9, 7))
    with demo.session() as session:
        session.execute(sa.delete(OverdueEscalation))  # as if queued before 0004
    _run_days(demo, (2026, 9, 8))
    assert len(_overdue(demo)) == 3  # the rows of 7 September, nothing more
    _prune_and_run_again(app, demo, date(2026, 9, 8))
    assert _overdue(demo) == {}
    with demo.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OverdueEscalation)) == 3


def test_a_college_without_a_head_is_escalated_once_it_has_one(demo):
    cycle_id = _cycle(demo, {"self": "2026-09-04"})
    with demo.session() as session:
        cs = session.scalar(sa.select(Unit).where(Unit.code == "CS"))
        dean = session.scalar(sa.select(Person).where(Person.userid == "cs_dean"))
        session.execute(
            sa.delete(RoleGrant).where(
                RoleGrant.role == Role.COLLEGE_HEAD, RoleGrant.unit_id == cs.id
            )
        )
        cs.head_id = None
        cs_id, dean_id = cs.id, dean.id
    key = f"assessment_overdue:{cycle_id}-self-{cs_id}"
    _run_days(demo, (2026, 9, 7))
    assert key not in _overdue(demo) and len(_overdue(demo)) == 2
    with demo.session() as session:
        assert cs_id not in session.scalars(sa.select(OverdueEscalation.unit_id)).all()
        session.add(RoleGrant(person_id=dean_id, role=Role.COLLEGE_HEAD, unit_id=cs_id))
    _run_days(demo, (2026, 9, 8), (2026, 9, 9))
    assert _overdue(demo)[key] == ["cs_dean"]
    assert len(_overdue(demo)) == 3


# --- the opening at the end of August ------------------------------------------------------


def _open_prompts(database) -> dict[str, list[str]]:
    return {key: users for key, users in _sent(database).items() if "assessment_opening" in key}


def test_the_office_is_asked_to_open_the_cycle_twice_at_the_end_of_august(demo):
    for day in range(1, 32):
        for _ in range(2):  # a second run the same day adds nothing
            assessment_opening(demo, at(2026, 8, day), rules=RULES)
    for day in range(1, 8):  # the new year has begun: nothing more
        assessment_opening(demo, at(2026, 9, day), rules=RULES)
    office = ["shuyuan_admin", "shuyuan_admin2"]
    assert _open_prompts(demo) == {
        "assessment_opening:2025-2026-2026-08-20": office,
        "assessment_opening:2025-2026-2026-08-27": office,
    }
    with demo.session() as session:
        text = session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.key.like("assessment_opening:%"))
        ).first()["text"]["content"]
    assert "开启考核 2025-2026 自评 2026-09-05" in text


def test_no_prompt_once_the_cycle_is_open(demo):
    assessment_opening(demo, at(2026, 8, 20), rules=RULES)
    _cycle(demo, {"self": "2026-09-04"})
    assessment_opening(demo, at(2026, 8, 27), rules=RULES)
    assert list(_open_prompts(demo)) == ["assessment_opening:2025-2026-2026-08-20"]


def test_a_prompt_day_off_moves_to_the_next_working_day_and_never_past_the_year():
    assert opening_days(date(2028, 8, 31), ["08-20", "08-27"]) == [
        date(2028, 8, 21),  # 20 Aug 2028 is a Sunday
        date(2028, 8, 28),
    ]
    assert opening_days(date(2026, 8, 31), ["08-30"]) == [date(2026, 8, 31)]  # Sun → Mon
    assert opening_days(date(2027, 8, 31), ["08-28"]) == [date(2027, 8, 30)]  # Sat → Mon
    assert opening_days(date(2026, 8, 29), ["08-29"]) == []  # a Saturday, the year's last day
