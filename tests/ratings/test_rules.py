"""The pure rating rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.models import RecordKind
from bot.ratings import cards, rules
from bot.ratings.rules import RatingPolicy, TapOutcome

POLICY = RatingPolicy()
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_activity_end_uses_end_time_else_default_length():
    start = NOW - timedelta(hours=5)
    assert rules.activity_end(start, None, POLICY) == start + timedelta(hours=2)
    assert rules.activity_end(start, NOW, POLICY) == NOW


def test_due_once_ended_and_within_the_window():
    assert rules.is_due(NOW - timedelta(minutes=1), NOW, POLICY)
    assert not rules.is_due(NOW + timedelta(minutes=1), NOW, POLICY)
    assert not rules.is_due(NOW - timedelta(days=7), NOW, POLICY)


def test_choices_are_five_levels_and_did_not_attend():
    assert list(rules.CHOICES) == [5, 4, 3, 2, 1, 0]
    assert rules.parse_choice("5") == 5
    assert rules.parse_choice("0") == 0
    for bad in ("6", "-1", "", "x", "05a"):
        assert rules.parse_choice(bad) is None


def test_tap_outcomes():
    ok = dict(participant=True, requested=True, lapsed=False, answered=False, now=NOW)
    later = NOW + timedelta(days=1)
    assert rules.tap_outcome(**ok, expires_at=later) is None
    assert rules.tap_outcome(**ok, expires_at=NOW) == TapOutcome.CLOSED
    assert rules.tap_outcome(**{**ok, "lapsed": True}, expires_at=later) == TapOutcome.CLOSED
    assert (
        rules.tap_outcome(**{**ok, "answered": True}, expires_at=later)
        == TapOutcome.ALREADY_ANSWERED
    )
    assert (
        rules.tap_outcome(**{**ok, "participant": False}, expires_at=later)
        == TapOutcome.NOT_PARTICIPANT
    )
    assert (
        rules.tap_outcome(**{**ok, "requested": False}, expires_at=None)
        == TapOutcome.NOT_PARTICIPANT
    )


def test_weekly_cap_keeps_the_newest_and_lapses_the_oldest():
    newest_first = ["d", "c", "b", "a"]
    assert rules.split_by_cap(newest_first, 0, 3) == (["d", "c", "b"], ["a"])
    assert rules.split_by_cap(newest_first, 2, 3) == (["d"], ["c", "b", "a"])
    assert rules.split_by_cap(newest_first, 5, 3) == ([], newest_first)


def test_week_starts_on_monday_in_the_local_zone():
    zone = ZoneInfo("Asia/Shanghai")
    sunday_night_utc = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # Monday 01:00 in Shanghai
    assert rules.week_start(sunday_night_utc, zone) == datetime(2026, 11, 30, tzinfo=zone)


def test_previous_month_and_monthly_window():
    zone = ZoneInfo("Asia/Shanghai")
    start, end = rules.previous_month(datetime(2026, 1, 2, tzinfo=zone), zone)
    assert (start, end) == (datetime(2025, 12, 1, tzinfo=zone), datetime(2026, 1, 1, tzinfo=zone))
    assert rules.early_in_month(datetime(2026, 1, 6, tzinfo=zone), POLICY)
    assert not rules.early_in_month(datetime(2026, 1, 8, tzinfo=zone), POLICY)


def test_flag_threshold_and_chunks():
    assert not rules.is_flagged(1, POLICY)
    assert rules.is_flagged(2, POLICY)
    assert [len(c) for c in rules.chunks(list(range(2500)))] == [1000, 1000, 500]


def test_card_has_six_buttons_and_says_who_what_when():
    card = cards.rating_card(
        task_id="rate-1-abc",
        record_id=12,
        kind=RecordKind.GROUP_ACTIVITY,
        mentor_name="王老师",
        title="读书沙龙",
        at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC),
        deadline=datetime(2026, 11, 27, 11, 0, tzinfo=UTC),
        zone=ZoneInfo("Asia/Shanghai"),
    )
    assert [b["text"] for b in card["button_list"]] == [
        "非常满意",
        "满意",
        "一般",
        "不满意",
        "非常不满意",
        "我没参加",
    ]
    assert card["button_list"][0]["key"] == "rate:12:5"
    assert card["button_list"][5]["key"] == "rate:12:0"
    values = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert values == {"导师": "王老师", "活动": "读书沙龙", "时间": "11月20日 19:00"}
    assert "匿名" in card["sub_title_text"] and "11月27日" in card["sub_title_text"]
