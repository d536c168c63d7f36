"""The college's workbook round trip in headless Chromium through the simulator's chat page:
the college admin opens the scoring card, signs in with WeCom OAuth in the in-app browser,
downloads the workbook, uploads it filled in (first with a mistake), confirms, and submits
by tapping the card."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.db import get_database
from bot.core.models import ItemScore, Submission
from tests.browser import chromium_context, require_chromium, running_sender
from tests.cycle.conftest import save
from tests.cycle.test_journey import _fill_college
from tests.cycle.test_live import open_year
from tests.live import LiveApp

pytestmark = pytest.mark.browser
playwright_api = require_chromium()


@pytest.fixture
def live(live: LiveApp) -> Iterator[LiveApp]:
    """The cycle's live app (tests/cycle/conftest.py) with its sender running."""
    with running_sender(live):
        yield live


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium_context(viewport={"width": 420, "height": 860}, accept_downloads=True) as context:
        yield context


def _scores(live: LiveApp) -> int:
    with get_database(live.app).session() as session:
        return session.scalar(sa.select(sa.func.count(ItemScore.id)))


def test_college_admin_scores_the_college_in_the_browser(live, browser, tmp_path):
    expect = playwright_api.expect
    open_year(live, drain=False)

    chat = browser.new_page()
    chat.goto(live.base_url + "/simulator/")
    chat.locator("#people-list li[data-userid=cs_admin]").click()
    messages = chat.get_by_test_id("messages")
    card = messages.locator(".card").filter(has_text="计算机与物联网学院评分")
    expect(card).to_have_count(1, timeout=15000)

    with chat.expect_popup() as opened:
        card.get_by_role("link", name="查看详情").click()
    hub = opened.value
    expect(hub.get_by_role("button", name="上传评分表")).to_be_visible(timeout=10000)
    assert "/connect/oauth2/authorize" not in hub.url  # signed in and back on the page

    with hub.expect_download() as downloaded:
        hub.get_by_role("link", name="下载评分表").click()
    content = downloaded.value.path().read_bytes()

    book = load_workbook(io.BytesIO(_fill_college(content)))
    sheet = book.active
    headers = {sheet.cell(3, c).value: c for c in range(1, sheet.max_column + 1)}
    sheet.cell(4, headers["B1 评分（满分 2）"], 5)  # above the maximum
    wrong = tmp_path / "评分表-有误.xlsx"
    wrong.write_bytes(save(book))
    hub.set_input_files("input[name=file]", str(wrong))
    hub.get_by_role("button", name="上传评分表").click()
    expect(hub.get_by_text("第 4 行 D 列（B1）：分数 5 超出 0–2")).to_be_visible()
    assert _scores(live) == 0

    good = tmp_path / "评分表.xlsx"
    good.write_bytes(_fill_college(content))
    hub.set_input_files("input[name=file]", str(good))
    hub.get_by_role("button", name="上传评分表").click()
    expect(hub.get_by_role("button", name="确认保存")).to_be_visible()
    hub.get_by_role("button", name="确认保存").click()
    expect(hub.get_by_text("已保存 98 项评分")).to_be_visible()
    assert _scores(live) == 98

    card.get_by_role("button", name="提交评分").click()  # before the A scores: confirm first
    expect(messages.locator(".msg.app").filter(has_text="书院部尚未提交 A 项")).to_have_count(
        1, timeout=15000
    )
    assert live.simulator.send_text("cs_admin", "提交评分 确认") == 200
    expect(
        messages.locator(".msg.app").filter(has_text="已提交计算机与物联网学院的评分")
    ).to_have_count(1, timeout=15000)
    with get_database(live.app).session() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1
