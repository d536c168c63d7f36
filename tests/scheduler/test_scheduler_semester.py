"""Time travel through the first semester of the demo university: every job fires at the
times the default schedule gives, twice; who is reminded when, nobody at night or on a
holiday, nothing in the winter vacation, each message once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from bot.calendar import in_quiet_hours, is_working_day
from bot.core.models import AcademicYear, MentorAssignment, OutboxMessage, Person, Semester
from bot.devtools.demo_data import seed_demo
from bot.records.progress import progress
from scheduler.runner import run_entry
from scheduler.schedule import load_schedule
from tests.scheduler.conftest import RULES, SHANGHAI


def _fire_times(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    schedule = load_schedule()
    fires = []
    for entry in schedule.entries.values():
        if entry.id.startswith("rating_"):
            continue  # rating cards and their reminder: tests/ratings (cards go out weekends)
        trigger = entry.trigger(SHANGHAI)
        moment = trigger.get_next_fire_time(None, start)
        while moment is not None and moment < end:
            fires.append((moment, entry.id))
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return sorted(fires)


def _rows(database) -> list[OutboxMessage]:
    with database.session() as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_semester_of_reminders(demo):
    schedule = load_schedule()
    start = datetime(2025, 9, 1, tzinfo=SHANGHAI)
    end = datetime(2026, 2, 28, tzinfo=SHANGHAI)
    for moment, job_id in _fire_times(start, end):
        first = run_entry(schedule.entries[job_id], demo, moment, schedule.rules)
        again = run_entry(schedule.entries[job_id], demo, moment + timedelta(minutes=3), RULES)
        assert again.added == 0, (job_id, moment, first.added)
    rows = _rows(demo)
    assert rows
    assert len({row.key for row in rows}) == len(rows)

    # nobody at night, on a day off, on the full or half hour; nothing in the winter vacation
    for row in rows:
        local = row.available_at.astimezone(SHANGHAI)
        assert not in_quiet_hours(local.time()), row.key
        assert is_working_day(local.date()), row.key
        assert local.minute % 30 not in (0, 1, 2, 28, 29), row.key
        assert not date(2026, 1, 17) <= local.date() <= date(2026, 2, 22), row.key

    by_campaign: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        by_campaign[row.key.split(":")[0]].append(row)
    assert set(by_campaign) == {"weekly_contact", "mid_semester", "monthly_plan"} | (
        {"college_publicity"} if by_campaign.get("college_publicity") else set()
    )

    # weekly: Fridays 16:07 of teaching weeks that are working days; not in week 4 (National
    # Day), not on Friday 2 January 2026 (New Year holiday)
    weekly_days = {
        row.created_at.astimezone(SHANGHAI).date() for row in by_campaign["weekly_contact"]
    }
    assert all(day.weekday() == 4 for day in weekly_days)
    assert date(2025, 10, 3) not in weekly_days and date(2026, 1, 2) not in weekly_days
    assert date(2025, 9, 12) in weekly_days and date(2026, 1, 16) in weekly_days

    # monthly plan: the first working day of the month in term: 8 Sep (term starts),
    # 9 Oct (after the National Day holiday), 3 Nov, 1 Dec, Sunday 4 Jan 2026 (a make-up
    # working day after New Year's Day), 24 Feb (term starts on 23 Feb, still Spring Festival)
    plan_days = {row.created_at.astimezone(SHANGHAI).date() for row in by_campaign["monthly_plan"]}
    assert plan_days <= {
        date(2025, 9, 8),
        date(2025, 10, 9),
        date(2025, 11, 3),
        date(2025, 12, 1),
        date(2026, 1, 4),
        date(2026, 2, 24),
    }
    assert date(2026, 1, 4) in plan_days  # the demo mentors mostly plan on the 1st or 2nd

    mid = by_campaign["mid_semester"]
    assert len({row.userid for row in mid}) == len(mid)  # once a semester each
    assert {row.created_at.astimezone(SHANGHAI).date() for row in mid} == {date(2025, 11, 10)}


def test_weekly_check_agrees_with_my_progress(app, database):
    """Whoever 我的 shows short of 2 contacts at Friday 16:07 is reminded, nobody else (the
    demo seeded up to that moment, as it would stand then)."""
    schedule = load_schedule()
    friday = datetime(2025, 11, 21, 16, 7, tzinfo=SHANGHAI)
    with app.app_context():
        seed_demo(database, now=friday, zone=SHANGHAI)
    demo = database
    run_entry(schedule.entries["weekly_contact_check"], demo, friday, RULES)
    reminded = {row.userid: row for row in _rows(demo)}
    with demo.session() as session:
        year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == "2025-2026"))
        mentors = session.execute(
            sa.select(Person.id, Person.userid)
            .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
            .where(MentorAssignment.year_id == year.id)
        ).all()
        short = set()
        for person_id, userid in mentors:
            result = progress(session, mentor_id=person_id, year=year, now=friday, zone=SHANGHAI)
            week = result.targets[0]
            assert week.label == "本周个别交流"
            if week.done < 2:
                short.add(userid)
                card = reminded[userid].payload["template_card"]
                assert f"交流 {week.done} 次" in card["main_title"]["desc"]
                assert card["button_list"][0]["key"] == "rec_start:contact"
    assert short and set(reminded) == short


def test_no_weekly_reminder_in_a_week_that_does_not_count(app, database, monkeypatch):
    """A teaching week with fewer than the rubric's 3 working days (here Monday to Wednesday
    made holidays) does not count toward the weekly target: nobody is reminded of it."""
    from bot.records import reminders

    schedule = load_schedule()
    friday = datetime(2025, 11, 21, 16, 7, tzinfo=SHANGHAI)
    with app.app_context():
        seed_demo(database, now=friday, zone=SHANGHAI)
    holidays = {date(2025, 11, 17), date(2025, 11, 18), date(2025, 11, 19)}
    real = reminders.is_working_day
    monkeypatch.setattr(reminders, "is_working_day", lambda day: day not in holidays and real(day))
    assert run_entry(schedule.entries["weekly_contact_check"], database, friday, RULES).added == 0
    assert _rows(database) == []
    monkeypatch.setattr(reminders, "is_working_day", real)  # the same week with its five days
    assert run_entry(schedule.entries["weekly_contact_check"], database, friday, RULES).added > 0


def test_dry_run_lists_without_writing(demo):
    schedule = load_schedule()
    friday = datetime(2025, 11, 21, 16, 7, tzinfo=SHANGHAI)
    result = run_entry(schedule.entries["weekly_contact_check"], demo, friday, RULES, dry_run=True)
    assert result.added > 0 and len(result.planned) == result.added
    assert all("每周交流提醒" in item.preview for item in result.planned)
    assert _rows(demo) == []


def test_late_run_in_quiet_hours_waits_for_the_morning(demo):
    """A misfired Friday job run at 23:40 queues for Monday morning, not the night."""
    schedule = load_schedule()
    late = datetime(2025, 11, 21, 23, 40, tzinfo=SHANGHAI)
    run_entry(schedule.entries["weekly_contact_check"], demo, late, RULES)
    rows = _rows(demo)
    assert rows
    for row in rows:
        local = row.available_at.astimezone(SHANGHAI)
        assert local.date() == date(2025, 11, 24) and 8 <= local.hour < 9
        assert 3 <= local.minute <= 8


def test_no_reminders_in_the_summer_vacation(demo):
    schedule = load_schedule()
    with demo.session() as session:
        last = session.scalar(sa.select(sa.func.max(Semester.ends_on)))
    start = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    for moment, job_id in _fire_times(start, start + timedelta(days=45)):
        run_entry(schedule.entries[job_id], demo, moment, schedule.rules)
    assert _rows(demo) == []
