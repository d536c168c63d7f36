"""The schedule file: defaults, an override merged by job id, clear errors."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from scheduler.schedule import DEFAULT_FILE, ScheduleError, load_schedule
from tests.scheduler.conftest import SHANGHAI


def test_default_schedule_has_the_jobs_off_the_round_minutes():
    schedule = load_schedule()
    assert set(schedule.entries) == {
        "weekly_contact_check",
        "mid_semester_check",
        "monthly_plan_reminder",
        "college_publicity",
        "assessment_opening",
        "assessment_calendar",
        "rating_cards",
        "rating_reminders",
        "rating_cards_close",
        "scoring_cards_close",
        "outbox_prune",
        "database_statistics",
    }
    assert schedule.rules.quiet_start == time(22, 0) and schedule.rules.quiet_end == time(8, 0)
    thursday = datetime(2025, 11, 20, 12, 0, tzinfo=SHANGHAI)
    weekly = schedule.entries["weekly_contact_check"]
    assert weekly.next_run(thursday, SHANGHAI) == datetime(2025, 11, 21, 16, 7, tzinfo=SHANGHAI)
    for entry in schedule.entries.values():
        entry.function()  # every dotted path imports
        assert entry.next_run(thursday, SHANGHAI).minute % 30 not in (0, 1, 2, 28, 29)
    assert DEFAULT_FILE.read_text(encoding="utf-8").startswith("# The scheduler's jobs")


def test_an_override_merges_by_id_and_adds_jobs(tmp_path):
    override = tmp_path / "mine.toml"
    override.write_text(
        '[calendar]\nquiet_start = "21:30"\n\n'
        "[jobs.weekly_contact_check]\nenabled = false\n\n"
        '[jobs.rating_reminder]\njob = "bot.records.reminders:weekly_contact_check"\n'
        'cron = "17 18 * * mon-fri"\nparams = { minimum = 3 }\n',
        encoding="utf-8",
    )
    schedule = load_schedule(override)
    assert schedule.rules.quiet_start == time(21, 30)
    assert schedule.rules.quiet_end == time(8, 0)
    assert not schedule.entries["weekly_contact_check"].enabled
    assert schedule.entries["weekly_contact_check"].cron == "7 16 * * fri"
    assert schedule.entries["rating_reminder"].params == {"minimum": 3}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[jobs.x]\njob = "nodots"\ncron = "7 9 * * *"\n', "module:function"),
        ('[jobs.x]\njob = "a.b:c"\n', "either cron or interval_seconds"),
        ('[jobs.x]\njob = "a.b:c"\ncron = "61 9 * * *"\n', "[jobs.x]"),
        ('[jobs.x]\njob = "a.b:c"\ncron = "7 9 * * *"\nwhen = 1\n', "unknown keys"),
        ('[jobs."bad id"]\njob = "a.b:c"\ncron = "7 9 * * *"\n', "letters, digits"),
        ('[calendar]\nquiet_start = "25:00"\n', "[calendar]"),
        ("[jobs.x\n", "mine.toml"),
    ],
)
def test_a_malformed_override_is_refused_with_its_place(tmp_path, body, message):
    override = tmp_path / "mine.toml"
    override.write_text(body, encoding="utf-8")
    with pytest.raises(ScheduleError, match=None) as error:
        load_schedule(override)
    assert message in str(error.value)


def test_a_missing_override_file_is_an_error(tmp_path):
    with pytest.raises(ScheduleError, match="cannot read"):
        load_schedule(tmp_path / "absent.toml")
