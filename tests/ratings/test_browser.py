"""A mentor logs an activity and a participant rates it, both in headless Chromium through the
simulator's chat page: quick text in, the rating card out through the outbox, a tap back as a
signed callback, the card updated in place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import Rating, Record
from bot.ratings import jobs
from tests.browser import chromium_context, require_chromium, running_sender
from tests.live import LiveApp, serve
from tests.ratings.conftest import POLICY
from tests.records.conftest import build_world

pytestmark = pytest.mark.browser
playwright_api = require_chromium()

PEOPLE = {"wanglaoshi": "王老师", "zhangsan": "张三", "lisi": "李四", "zhaoliu": "赵六"}


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        build_world(get_database(live.app))
        with live.app.app_context():
            for userid, name in PEOPLE.items():
                live.simulator.state.add_user(userid, name)
        with running_sender(live):
            yield live


@pytest.fixture
def page() -> Iterator[object]:
    with chromium_context(viewport={"width": 420, "height": 860}) as context:
        yield context.new_page()


def _as(page, userid: str) -> object:
    page.locator(f"#people-list li[data-userid={userid}]").click()
    playwright_api.expect(page.get_by_test_id("chat-title")).to_contain_text(PEOPLE[userid])
    return page.get_by_test_id("messages")


def test_a_logged_activity_is_rated_by_tapping_its_card(live, page):
    expect = playwright_api.expect
    page.goto(live.base_url + "/simulator/")
    messages = _as(page, "wanglaoshi")
    yesterday = datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)  # Shanghai's date
    page.locator("#text").fill(
        f"活动 读书沙龙 {yesterday.month}月{yesterday.day}日19:00 图书馆 参加：张三、李四"
    )
    page.locator("#send").click()
    saved = messages.locator(".msg.app").filter(has_text="已记录集体活动")
    expect(saved).to_have_count(1, timeout=15000)

    database = get_database(live.app)
    assert jobs.send_rating_cards(database, datetime.now(UTC), policy=POLICY) == 2

    messages = _as(page, "zhangsan")
    card = messages.locator(".card").filter(has_text="读书沙龙")
    expect(card).to_have_count(1, timeout=15000)
    expect(card).to_contain_text("王老师")
    card.get_by_role("button", name="满意", exact=True).click()
    expect(card.locator(".done")).to_have_text("已评价：满意，谢谢！", timeout=15000)

    messages = _as(page, "zhaoliu")  # not a participant: no card at all
    expect(messages.locator(".card").filter(has_text="读书沙龙")).to_have_count(0)
    with database.session() as session:
        record_id = session.scalar(sa.select(Record.id))
        ratings = session.execute(sa.select(Rating.record_id, Rating.level)).all()
    assert ratings == [(record_id, 4)]
