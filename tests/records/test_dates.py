"""Chinese dates as mentors type them (pure, table-driven)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.records.dates import DateError, When, check_moment, parse_time, parse_when

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 11, 21)  # a Friday
YEAR = (date(2025, 9, 1), date(2026, 8, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", When(date(2025, 11, 21))),
        ("昨天", When(date(2025, 11, 20))),
        ("前天", When(date(2025, 11, 19))),
        ("周三", When(date(2025, 11, 19))),
        ("星期三", When(date(2025, 11, 19))),
        ("礼拜五", When(date(2025, 11, 21))),  # today is a Friday: today
        ("周六", When(date(2025, 11, 15))),  # the most recent past Saturday
        ("周日", When(date(2025, 11, 16))),
        ("上周三", When(date(2025, 11, 12))),
        ("下周三", When(date(2025, 11, 26))),  # the future is read as such, then refused
        ("明天", When(date(2025, 11, 22))),
        ("明天19:00", When(date(2025, 11, 22), time(19, 0))),
        ("后天", When(date(2025, 11, 23))),
        ("明天再聊", None),
        ("11月20日", When(date(2025, 11, 20))),
        ("11月20号", When(date(2025, 11, 20))),
        ("11月20日19:00", When(date(2025, 11, 20), time(19, 0))),
        ("11月20日19点", When(date(2025, 11, 20), time(19, 0))),
        ("昨天晚上7点", When(date(2025, 11, 20), time(19, 0))),
        ("今天下午3点半", When(date(2025, 11, 21), time(15, 30))),
        ("2025-11-20", When(date(2025, 11, 20))),
        ("2025/11/20", When(date(2025, 11, 20))),
        ("2025年11月20日", When(date(2025, 11, 20))),
        ("3月5日", When(date(2026, 3, 5))),  # spring belongs to the second calendar year
        ("9月1日", When(date(2025, 9, 1))),
        ("11/20", When(date(2025, 11, 20))),
        ("聊选课", None),
        ("图书馆", None),
        ("11月20日读书", None),
        ("张三", None),
    ],
)
def test_parse_when(text, expected):
    assert parse_when(text, TODAY, *YEAR) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19:00", time(19, 0)),
        ("19：30", time(19, 30)),
        ("7点", time(7, 0)),
        ("晚上7点", time(19, 0)),
        ("下午3点半", time(15, 30)),
        ("中午12点", time(12, 0)),
        ("25:00", None),
        ("图书馆", None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["2月30日", "2025-13-01", "2025-02-29"])
def test_impossible_dates_are_refused_with_the_reason(text):
    with pytest.raises(DateError, match="不存在"):
        parse_when(text, TODAY, *YEAR)


NOW = datetime(2025, 11, 21, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


def test_moment_today_without_a_time_is_now():
    moment = When(date(2025, 11, 21)).moment(SHANGHAI, NOW)
    assert moment == datetime(2025, 11, 21, 18, 0, tzinfo=SHANGHAI)


def test_moment_of_an_earlier_day_without_a_time_is_noon():
    assert When(date(2025, 11, 20)).moment(SHANGHAI, NOW).hour == 12


@pytest.mark.parametrize(
    ("moment", "fragment"),
    [
        # later today: the time; a later day: the day alone (its hour may be a default)
        (datetime(2025, 11, 21, 19, 0, tzinfo=SHANGHAI), "^时间 11月21日 19:00 还没有到"),
        (datetime(2025, 11, 22, 9, 0, tzinfo=SHANGHAI), "^日期 11月22日 还没有到"),
        (datetime(2025, 8, 31, 9, 0, tzinfo=SHANGHAI), "不在本学年"),
    ],
)
def test_future_and_other_years_are_refused_with_the_reason(moment, fragment):
    with pytest.raises(DateError, match=fragment):
        check_moment(moment, NOW, *YEAR)


def test_a_moment_earlier_today_is_accepted():
    check_moment(datetime(2025, 11, 21, 8, 0, tzinfo=SHANGHAI), NOW, *YEAR)


@pytest.mark.parametrize("text", ["11月20日25:00", "昨天24点", "今天19:60"])
def test_a_day_with_an_impossible_time_is_refused(text):
    with pytest.raises(DateError, match="不存在"):
        parse_when(text, TODAY, *YEAR)
