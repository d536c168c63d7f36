"""The college's workbook round trip with the whole app served for real: the opening card goes
out through the outbox and the fake WeCom API, the admin signs in with OAuth in the in-app
browser, downloads, uploads, confirms, and submits by tapping the card."""

from __future__ import annotations

import io
import re
import time
from urllib.parse import quote

import requests
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.db import get_database
from bot.core.models import ItemScore, Submission
from tests.cycle.test_journey import _fill_college
from tests.fonts import cjk_font_installed
from tests.live import LiveApp


def _cards(live: LiveApp, userid: str) -> list[dict]:
    return [
        e
        for e in live.simulator.conversation(userid)
        if e["direction"] == "out" and e["msgtype"] == "template_card"
    ]


def open_year(live: LiveApp, text: str = "开启考核 2025-2026", *, drain: bool = True) -> None:
    """The office sends ``text`` and taps 确认开启 on the plan card it gets back (``drain``:
    send the outbox here; otherwise a running sender does, and this waits)."""
    assert live.simulator.send_text("shuyuan_admin", text) == 200
    deadline = time.monotonic() + 15
    while not (found := _cards(live, "shuyuan_admin")):
        assert time.monotonic() < deadline, "no opening card"
        if drain:
            live.drain()
        else:
            time.sleep(0.1)
    card = found[-1]["payload"]
    assert card["main_title"]["title"] == "开启 2025-2026 学年导师考核？"
    status = live.simulator.tap_card(
        "shuyuan_admin", task_id=card["task_id"], card_type=card["card_type"],
        event_key=card["button_list"][0]["key"], selected=[],
    )  # fmt: skip
    assert status == 200


def test_college_workbook_round_trip_in_the_browser(live):
    open_year(live)
    report = live.drain()
    assert report.failed == 0 and report.dead == 0
    [entry] = _cards(live, "cs_admin")
    card = entry["payload"]
    hub = card["card_action"]["url"]

    browser = requests.Session()
    browser.cookies.set("sim_userid", "cs_admin", domain="127.0.0.1", path="/simulator")
    page = browser.get(hub, timeout=10)
    assert page.status_code == 200
    assert any("/connect/oauth2/authorize" in r.headers.get("Location", "") for r in page.history)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    workbook = browser.get(hub + "/workbook.xlsx", timeout=10)
    assert workbook.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    confirm = browser.post(
        hub + "/upload",
        data={"csrf": csrf},
        files={"file": ("评分表.xlsx", _fill_college(workbook.content))},
        timeout=10,
    )
    assert confirm.status_code == 200 and "确认保存" in confirm.text
    saved = browser.post(hub + "/confirm", data={"csrf": csrf}, timeout=10)
    assert "已保存 98 项评分" in saved.text
    with get_database(live.app).session() as session:
        assert session.scalar(sa.select(sa.func.count(ItemScore.id))) == 98

    status = live.simulator.tap_card(
        "cs_admin",
        task_id=card["task_id"],
        card_type=card["card_type"],
        event_key=card["button_list"][0]["key"],
        selected=[],
    )
    assert status == 200
    live.drain()
    assert "replaced_text" not in _cards(live, "cs_admin")[0]  # no A scores yet: confirm first
    with get_database(live.app).session() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    assert live.simulator.send_text("cs_admin", "提交评分 确认") == 200
    live.drain()
    with get_database(live.app).session() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1


def test_publication_shows_the_chart_and_the_workbook_in_the_simulator(live):
    """What a person using the demo sees: the college head's digest with its chart inline,
    the office's results workbook as a file that downloads under its name."""
    open_year(live)
    assert live.simulator.send_text("shuyuan_admin", "公示 强制") == 200
    report = live.drain()
    assert (report.failed, report.dead, report.errors) == (0, 0, {})

    dean = [e for e in live.simulator.conversation("cs_dean") if e["direction"] == "out"]
    if cjk_font_installed():
        assert [e["msgtype"] for e in dean] == ["markdown", "image"]
        image = requests.get(live.base_url + dean[1]["media_url"], timeout=10)
        assert image.headers["Content-Type"] == "image/png"
        assert image.headers["Content-Disposition"].startswith("inline")
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert [e["msgtype"] for e in dean] == ["markdown"]

    [entry] = [e for e in live.simulator.conversation("shuyuan_admin") if e["msgtype"] == "file"]
    name = "2025-2026-全校导师考核结果（公示）.xlsx"
    assert entry["filename"] == name
    download = requests.get(live.base_url + entry["media_url"], timeout=10)
    assert download.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{quote(name)}"
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet.cell(1, 1).value == "工号" and sheet.max_row == 1 + 20
