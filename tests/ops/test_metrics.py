from datetime import UTC, datetime, timedelta

import pytest

from bot import outbox
from bot.metrics import allowed, parse_networks
from bot.models import Role
from tests.factories import WeComCaller, add_person


def _scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or (
            line.startswith(name + "{") and line.split(" ")[0] == name
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_only_for_allowed_addresses(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1", True), ("::1", True), ("10.0.0.5", True), ("10.1.0.5", False), ("", False)],
)
def test_allow_list(address, expected):
    assert allowed(address, parse_networks("127.0.0.1, ::1, 10.0.0.0/16")) is expected


def test_callbacks_duplicates_and_outbox_are_counted(app, client, database):
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    before = _scrape(client)
    handled = 'mentorbot_callbacks_total{outcome="handled",type="text"}'
    duplicates = "mentorbot_callback_duplicates_total"
    caller = WeComCaller(app, client)
    caller.text("wanglaoshi", "帮助", msg_id=424242)
    caller.text("wanglaoshi", "帮助", msg_id=424242)
    after = _scrape(client)
    assert _value(after, handled) == _value(before, handled) + 1
    assert _value(after, duplicates) == _value(before, duplicates) + 1
    assert 'mentorbot_outbox_messages{status="pending"} 1.0' in after


def test_oldest_pending_age(app, client, database):
    with database.session() as session:
        outbox.enqueue(
            session,
            ["someone"],
            outbox.Message.text("x"),
            key="old",
            now=datetime.now(UTC) - timedelta(hours=1),
        )
    age = _value(_scrape(client), "mentorbot_outbox_oldest_pending_seconds")
    assert 3500 < age < 3700
