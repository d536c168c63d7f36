"""The office's ratings audit export in the app: 导出评价 links a signed-in page that gives the
academy office the workbook (students with their ratings, formulas made inert), one audit entry
per download; everybody else is refused in chat and on the page, and nothing is built."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from io import BytesIO
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import AcademicYear, AuditEntry, Person
from bot.pages.files import XLSX
from bot.ratings import export, jobs
from tests.factories import signed_in
from tests.ratings.conftest import POLICY, add_activity, outbox_rows

REFUSED = "学生评价导出只对书院部开放"


def _tap(phone, database, userid: str, choice: str) -> None:
    """Tap ``choice`` on the one rating card ``userid`` has."""
    (row,) = outbox_rows(database, "template_card", userid)
    card = row.payload["template_card"]
    key = next(b["key"] for b in card["button_list"] if b["text"] == choice)
    phone.tap(userid, card, key)


@pytest.fixture
def year_code(database, world) -> str:
    with database.session() as session:
        return session.get(AcademicYear, world.year_id).code


@pytest.fixture
def rated(database, world, phone) -> None:
    """读书沙龙: 张三 满意, 李四 不满意, 周松 我没参加; "=1+1": 王五 非常满意."""
    add_activity(database, world, ["zhangsan", "lisi", "zhousong"], title="读书沙龙")
    add_activity(database, world, ["wangwu1"], title="=1+1")
    assert jobs.send_rating_cards(database, datetime.now(UTC), policy=POLICY) == 4
    _tap(phone, database, "zhangsan", "满意")
    _tap(phone, database, "lisi", "不满意")
    _tap(phone, database, "zhousong", "我没参加")
    _tap(phone, database, "wangwu1", "非常满意")


def _exports(database) -> list[tuple[str, int | None, str, dict | None]]:
    """(action, actor id, year, after) of every ratings-export audit entry, oldest first."""
    with database.session() as session:
        return [
            (entry.action, entry.actor_id, entry.entity_id, entry.after)
            for entry in session.scalars(
                sa.select(AuditEntry).where(AuditEntry.entity == "rating").order_by(AuditEntry.id)
            )
        ]


def _person_id(database, userid: str) -> int:
    with database.session() as session:
        return session.scalar(sa.select(Person.id).where(Person.userid == userid))


# --- the chat command ------------------------------------------------------------------------


def test_the_office_gets_a_link_to_this_years_export(app, phone, world, year_code):
    phone.say(world.academy_admin, "导出评价")
    text = phone.last_text(world.academy_admin)
    base = app.extensions["settings"].PUBLIC_BASE_URL
    assert f"({base}/m/ratings/{year_code}.xlsx)" in text
    assert f"{year_code} 学年学生评价导出" in text
    phone.say(world.academy_admin, f"导出评价 {year_code}")
    assert f"({base}/m/ratings/{year_code}.xlsx)" in phone.last_text(world.academy_admin)


def test_the_office_is_told_about_a_missing_or_malformed_year(phone, world):
    phone.say(world.academy_admin, "导出评价 1999-2000")
    text = phone.last_text(world.academy_admin)
    assert "没有 1999-2000 学年" in text and "/m/ratings/" not in text
    phone.say(world.academy_admin, "导出评价 去年")
    text = phone.last_text(world.academy_admin)
    assert "请写明学年" in text and "/m/ratings/" not in text


@pytest.mark.parametrize("who", ["mentor", "student", "college_admin"])
def test_others_are_refused_in_chat(phone, world, who):
    userid = getattr(world, who)
    phone.say(userid, "导出评价")
    text = phone.last_text(userid)
    assert REFUSED in text
    assert "/m/ratings/" not in text


def test_the_office_help_lists_the_command_and_a_mentors_does_not(phone, world):
    phone.say(world.academy_admin, "帮助")
    assert "导出评价" in phone.last_text(world.academy_admin)
    phone.say(world.mentor, "帮助")
    assert "导出评价" not in phone.last_text(world.mentor)


# --- the page --------------------------------------------------------------------------------


def test_the_link_gives_the_office_the_workbook(app, database, phone, world, year_code, rated):
    phone.say(world.academy_admin, "导出评价")
    url = re.search(r"\((http[^)]+)\)", phone.last_text(world.academy_admin)).group(1)
    page = signed_in(app, world.academy_admin).get(urlsplit(url).path)
    assert page.status_code == 200
    assert page.mimetype == XLSX
    assert page.headers["Cache-Control"] == "no-store"
    name = f"{year_code}-学生评价明细.xlsx"
    assert page.headers["Content-Disposition"] == (
        f"attachment; filename=\"{year_code}-.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    book = load_workbook(BytesIO(page.data))
    details = list(book["评价明细"].iter_rows(values_only=True))
    assert details[0] == tuple(export.RATINGS_HEADER)
    assert sorted((row[5], row[7], row[8], row[9]) for row in details[1:]) == [
        ("'=1+1", "WANGWU1", "王五", "非常满意"),
        ("读书沙龙", "LISI", "李四", "不满意"),
        ("读书沙龙", "ZHANGSAN", "张三", "满意"),
        ("读书沙龙", "ZHOUSONG", "周松", "我没参加"),
    ]
    assert {row[1] for row in details[1:]} == {year_code}
    assert {row[3] for row in details[1:]} == {"王老师"}
    summary = list(book["活动汇总"].iter_rows(values_only=True))
    assert summary[0] == tuple(export.SUMMARY_HEADER)
    assert sorted((row[4], *row[6:9]) for row in summary[1:]) == [
        ("'=1+1", 1, 100.0, 0),
        ("读书沙龙", 2, 50.0, 1),
    ]
    for sheet in book.worksheets:  # no cell is a formula
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_deleted_records_ratings_are_left_out(app, database, phone, world, year_code, rated):
    """The mentor deletes "=1+1" (删除 on the list's number, then 删除 on the card): its
    rating leaves both sheets; restored (恢复), it comes back."""
    phone.say(world.mentor, "记录")
    listing = phone.last_text(world.mentor)
    number = next(line.split(".")[0] for line in listing.splitlines() if "=1+1" in line)
    phone.say(world.mentor, f"删除 {number}")
    card = phone.last_card(world.mentor)
    phone.tap(
        world.mentor, card, next(b for b in card["button_list"] if b["text"] == "删除")["key"]
    )
    assert phone.last_text(world.mentor).startswith("已删除")
    with database.session() as session:
        book = load_workbook(
            BytesIO(export.ratings_workbook(session, app.extensions["settings"].zone)[0])
        )
    assert {row[5] for row in list(book["评价明细"].iter_rows(values_only=True))[1:]} == {
        "读书沙龙"
    }
    assert {row[4] for row in list(book["活动汇总"].iter_rows(values_only=True))[1:]} == {
        "读书沙龙"
    }
    phone.say(world.mentor, "恢复")
    assert phone.last_text(world.mentor).startswith("已恢复")
    with database.session() as session:
        _, count = export.ratings_workbook(session, app.extensions["settings"].zone)
    assert count == 4


def test_each_download_is_one_audit_entry_naming_the_office_person(
    app, database, world, year_code, rated
):
    browser = signed_in(app, world.academy_admin)
    office = _person_id(database, world.academy_admin)
    assert browser.get(f"/m/ratings/{year_code}.xlsx").status_code == 200
    expected = (
        "export",
        office,
        year_code,
        {"ratings": 4, "file": export.download_name(year_code)},
    )
    assert _exports(database) == [expected]
    assert browser.get(f"/m/ratings/{year_code}.xlsx").status_code == 200
    assert _exports(database) == [expected, expected]


@pytest.mark.parametrize("who", ["mentor", "student", "college_admin"])
def test_others_get_403_and_nothing_is_built(
    app, database, world, year_code, rated, who, monkeypatch
):
    def must_not_build(*args, **kwargs):
        raise AssertionError("the workbook was built for a refused reader")

    monkeypatch.setattr(export, "ratings_workbook", must_not_build)
    userid = getattr(world, who)
    page = signed_in(app, userid).get(f"/m/ratings/{year_code}.xlsx")
    assert page.status_code == 403
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert REFUSED in html
    assert "张三" not in html
    who_id = _person_id(database, userid)
    assert _exports(database) == [("export_refused", who_id, year_code, None)]


def test_an_unknown_or_malformed_year_is_a_404(app, database, world, year_code, rated):
    browser = signed_in(app, world.academy_admin)
    for path in ("/m/ratings/1999-2000.xlsx", "/m/ratings/2025-2027.xlsx", "/m/ratings/abc.xlsx"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "没有这个学年的评价记录" in page.get_data(as_text=True)
    assert _exports(database) == []


def test_without_sign_in_the_page_sends_to_wecom_and_builds_nothing(
    app, database, year_code, rated
):
    page = app.test_client().get(f"/m/ratings/{year_code}.xlsx")
    assert page.status_code == 302
    assert "/connect/oauth2/authorize" in page.headers["Location"]
    assert _exports(database) == []


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "words", "expected"),
    [
        (date(2026, 3, 1), [], "2025-2026"),
        (date(2026, 9, 1), [], "2026-2027"),
        (date(2026, 3, 1), ["2024-2025"], "2024-2025"),
        (date(2026, 3, 1), ["2024-2026"], None),
        (date(2026, 3, 1), ["去年"], None),
    ],
)
def test_requested_year(today, words, expected):
    assert export.requested_year(words, today) == expected


# --- the server command ----------------------------------------------------------------------


def test_the_server_command_writes_the_same_workbook_and_audits_without_actor(
    database, year_code, rated, runner, tmp_path
):
    target = tmp_path / "out" / "评价.xlsx"
    result = runner.invoke(args=["ratings", "export", str(target), "--year", year_code])
    assert result.exit_code == 0, result.output
    assert "已导出 4 条评价" in result.output
    titles = {row[5] for row in load_workbook(target)["评价明细"].iter_rows(values_only=True)}
    assert "'=1+1" in titles and "=1+1" not in titles
    assert _exports(database) == [("export", None, year_code, {"ratings": 4, "file": "评价.xlsx"})]


def test_the_server_command_refuses_an_unknown_year(database, rated, runner, tmp_path):
    target = tmp_path / "评价.xlsx"
    result = runner.invoke(args=["ratings", "export", str(target), "--year", "1999-2000"])
    assert result.exit_code != 0
    assert "没有学年 1999-2000" in result.output
    assert not target.exists()
    assert _exports(database) == []
