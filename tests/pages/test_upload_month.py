"""A monthly plan or summary uploaded on the page says which month it is for (this one by
default, back to the academic year's first month); the record is counted in that month."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import sqlalchemy as sa

from bot.core.models import AcademicYear, Record, RecordKind
from bot.pages.upload import month_choices
from tests.records.conftest import build_world

PDF = b"%PDF-1.4\n" + b"0" * 2000


def _browser(app, userid: str):
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["userid"] = userid
        session["csrf"] = "test-csrf-token"
    return browser


def _upload(browser, month: str | None):
    data = {"csrf": "test-csrf-token", "purpose": "monthly_plan"}
    data["file"] = (io.BytesIO(PDF), "计划.pdf")
    if month is not None:
        data["month"] = month
    return browser.post("/m/upload", data=data, content_type="multipart/form-data")


def test_the_monthly_plan_page_asks_the_month_and_records_it(app, database):
    world = build_world(database)
    zone = app.extensions["settings"].zone
    today = datetime.now(UTC).astimezone(zone).date()
    browser = _browser(app, world.mentor)
    page = browser.get("/m/upload?purpose=monthly_plan")
    assert page.status_code == 200
    options = re.findall(r'<option value="([0-9-]+)"( selected)?>([^<]+)</option>', page.text)
    assert options[0][0] == f"{today:%Y-%m}" and options[0][2].endswith("（本月）")
    assert "是哪个月的月度计划" in page.text
    assert "<select" not in browser.get("/m/upload?purpose=semester_plan").text

    earlier = options[-1][0]  # the academic year's first month
    answer = _upload(browser, earlier)
    assert answer.status_code == 200, answer.text
    assert f"（{int(earlier[:4])}年{int(earlier[5:])}月）" in answer.text
    assert _upload(browser, "1999-01").status_code == 400  # not a month of this year
    assert _upload(browser, None).status_code == 200  # no choice sent: this month
    with database.session() as session:
        months = [
            f"{r.occurred_at.astimezone(zone):%Y-%m}"
            for r in session.scalars(sa.select(Record).order_by(Record.id))
            if r.kind == RecordKind.MONTHLY_PLAN
        ]
    assert months == [earlier, f"{today:%Y-%m}"]


def test_month_choices_run_from_this_month_back_to_the_years_first():
    year = AcademicYear(code="2026-2027", starts_on=date(2026, 9, 1), ends_on=date(2027, 8, 31))
    assert month_choices(date(2026, 12, 7), year) == [
        ("2026-12", "2026年12月（本月）"),
        ("2026-11", "2026年11月"),
        ("2026-10", "2026年10月"),
        ("2026-09", "2026年9月"),
    ]
