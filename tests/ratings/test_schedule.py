"""The rating jobs as the scheduler runs them: entries of scheduler/schedule.toml, called with
its convention (database, now, rules=…, **params), dry run included."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import is_working_day
from scheduler.runner import run_entry
from scheduler.schedule import load_schedule
from tests.ratings.conftest import add_activity, outbox_rows

ZONE = ZoneInfo("Asia/Shanghai")
FOUR = ["zhangsan", "lisi", "zhousong", "wangwu1"]


def test_the_scheduler_runs_the_rating_jobs(app, database, world):
    add_activity(database, world, FOUR)
    schedule = load_schedule()
    cards, reminders = schedule.entries["rating_cards"], schedule.entries["rating_reminders"]
    now = datetime.now(UTC)
    with app.app_context():
        dry = run_entry(cards, database, now, schedule.rules, dry_run=True)
        assert dry.added == 4 and outbox_rows(database) == []
        assert run_entry(cards, database, now, schedule.rules).added == 4
        assert run_entry(cards, database, now, schedule.rules).added == 0
        later = now + timedelta(days=2, hours=1)
        while not is_working_day(later.astimezone(ZONE).date()):
            assert run_entry(reminders, database, later, schedule.rules).added == 0  # a day off
            later += timedelta(days=1)
        assert run_entry(reminders, database, later, schedule.rules).added == 4
    assert len(outbox_rows(database, "template_card")) == 4
    assert len(outbox_rows(database, "text")) == 4


def test_the_rating_schedule_avoids_quiet_hours_and_round_minutes():
    zone = ZONE
    schedule = load_schedule()
    moment = datetime(2025, 11, 22, 21, 0, tzinfo=zone)  # a Saturday evening
    for job_id in ("rating_cards", "rating_reminders"):
        entry = schedule.entries[job_id]
        entry.function()
        fire = entry.next_run(moment, zone)
        for _ in range(60):
            assert 8 <= fire.hour < 21 and fire.minute % 30 not in (0, 1, 2, 28, 29)
            fire = entry.next_run(fire + timedelta(seconds=1), zone)
