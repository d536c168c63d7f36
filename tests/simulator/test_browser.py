"""The chat page in headless Chromium (Debian's package; no browser is downloaded)."""

import os
from collections.abc import Iterator

import pytest

from bot.core.db import get_database
from bot.core.models import Role
from tests.browser import chromium_context, require_chromium, running_sender
from tests.factories import add_person
from tests.live import LiveApp, serve

pytestmark = pytest.mark.browser
playwright_api = require_chromium()


@pytest.fixture
def live_with_sender(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        with database.session() as session:
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
            add_person(session, "zhangsan", "张三", Role.STUDENT)
        with running_sender(live):
            yield live


@pytest.fixture
def page() -> Iterator[object]:
    with chromium_context(viewport={"width": 1000, "height": 800}) as context:
        yield context.new_page()


def test_mentor_asks_for_help_and_taps_a_card(live_with_sender, page, tmp_path):
    expect = playwright_api.expect
    page.goto(live_with_sender.base_url + "/simulator/")
    page.locator("#people-list li[data-userid=wanglaoshi]").click()
    expect(page.get_by_test_id("chat-title")).to_contain_text("王老师")

    page.locator("#text").fill("帮助")
    page.locator("#send").click()
    messages = page.get_by_test_id("messages")
    expect(messages.locator(".msg.me")).to_contain_text(["帮助"])
    expect(messages.locator(".msg.app").filter(has_text="您可以")).to_have_count(1, timeout=10000)

    card = messages.locator(".card").filter(has_text="全生异科导师")
    expect(card).to_have_count(1, timeout=10000)
    card.get_by_role("button", name="使用示例").click()
    expect(card.locator(".done")).to_have_text("已使用示例", timeout=10000)
    expect(messages.locator(".msg.app").filter(has_text="可以直接发送这样的消息")).to_have_count(1)
    page.screenshot(path=os.environ.get("SIMULATOR_SCREENSHOT", str(tmp_path / "simulator.png")))
