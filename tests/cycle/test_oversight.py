"""人力资源处 and 教务处 (第六条): their roles come from the roster's administrators sheet; they
are told at publication and at each correction and read the year's results on a read-only
page; HR downloads the multi-year record there."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import Objection, Person, Role
from bot.devtools.demo_roster import demo_roster_records
from bot.roster.importer import RosterInvalid, import_roster
from bot.roster.workbook import RawRoster
from tests.cycle.conftest import Browser, path_of
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import _fill_academy, _hub_path, _score_college

HR = {"number": "20190071", "name": "钱程", "userid": "hr_qian", "role": "人力资源处", "unit": None}
JWC = {"number": "20190052", "name": "孙教", "userid": "jwc_sun", "role": "教务处", "unit": "JWC"}


def _import(database, *extra: dict) -> None:
    rows = demo_roster_records()
    rows["admins"] += list(extra)
    with database.session() as session:
        import_roster(
            session, RawRoster.from_records(rows), year="2025-2026", today=date(2026, 8, 31)
        )
        session.commit()


def _score_academy(app, database) -> None:
    hub = _hub_path(database, "shuyuan_admin")
    office = Browser(app, "shuyuan_admin")
    office.upload(hub + "/upload", _fill_academy(office.get(hub + "/workbook.xlsx").data))
    assert "已保存" in office.post(hub + "/confirm").text


def _markdown(phone, userid: str) -> list[str]:
    return [p["markdown"]["content"] for p in phone.new(userid) if p["msgtype"] == "markdown"]


def test_the_roles_come_from_the_administrators_sheet(app, database, demo):
    _import(database, HR, JWC)
    with database.session() as session:
        hr = session.scalar(sa.select(Person).where(Person.userid == "hr_qian"))
        jwc = session.scalar(sa.select(Person).where(Person.userid == "jwc_sun"))
        assert hr.has_role(Role.HR) and not hr.has_role(Role.ACADEMIC_AFFAIRS)
        assert jwc.has_role(Role.ACADEMIC_AFFAIRS) and jwc.unit.name == "教务处"
    with pytest.raises(RosterInvalid) as refused:
        _import(database, HR | {"unit": "CS"})
    assert any("角色“人力资源处”的单位“CS”" in str(issue) and "应为其他单位" in str(issue)
               for issue in refused.value.issues)  # fmt: skip


def test_hr_and_academic_affairs_are_told_and_read_the_results(app, database, demo, phone):
    _import(database, HR, JWC)
    open_confirmed(phone)
    _score_college(app, database, "cs_admin")
    _score_academy(app, database)
    for userid in ("hr_qian", "jwc_sun"):
        assert _markdown(phone, userid) == []  # nothing for them at the opening
    phone.say("shuyuan_admin", "公示 强制")

    # publication: both told, with the link to the overview
    for userid in ("hr_qian", "jwc_sun"):
        [note] = _markdown(phone, userid)
        assert "2025-2026 学年导师考核结果已公示" in note and "异议期至" in note
        assert "缺少：" in note
    overview = path_of(note.split("](")[-1].rstrip(")"))
    assert overview.endswith("/overview")
    hr, jwc = Browser(app, "hr_qian"), Browser(app, "jwc_sun")
    page = hr.get(overview)
    assert page.status_code == 200, page.text
    assert "优秀导师名单" in page.text and "王建国" in page.text and "所在单位" in page.text
    assert " / 7" in page.text  # the rank within the college, of its 7 ranked mentors
    assert "结果未完成：缺" in page.text  # the colleges that did not score
    assert "历年考核记录" in page.text
    assert "提交" not in page.text and "<form" not in page.text  # read-only
    jwc_page = jwc.get(overview)
    assert jwc_page.status_code == 200 and "历年考核记录" not in jwc_page.text
    results = jwc.get(overview.replace("/overview", "/results.xlsx"))
    assert results.status_code == 200
    assert load_workbook(io.BytesIO(results.data)).active.max_row == 1 + 20
    for userid in ("cs_admin", "wanglaoshi", "cs_dean"):
        assert Browser(app, userid).get(overview).status_code == 403
    assert Browser(app, "jwc_sun").get("/m/cycle/history.xlsx").status_code == 403
    assert hr.get("/m/cycle/history.xlsx").status_code == 200
    assert "/overview" in Browser(app, "hr_qian").get("/m/").text

    # a correction: both told what changed and why
    phone.new("cs_dean")
    phone.say("wanglaoshi", "异议 M1 我每周都有交流")
    with database.session() as session:
        objection_id = session.scalar(sa.select(sa.func.max(Objection.id)))
    phone.say("shuyuan_admin", f"更正 {objection_id} M1 8 已核实台账")
    assert "已更正" in phone.last_text("shuyuan_admin")
    for userid in ("hr_qian", "jwc_sun"):
        [note] = _markdown(phone, userid)
        assert "2025-2026 学年导师考核结果已更正" in note
        assert "王建国（计算机与物联网学院）M1：0 → 8" in note and "已核实台账" in note
    assert _markdown(phone, "cs_dean") == []  # heads hear of publication, not of each change


def test_the_demo_has_hr_and_academic_affairs(app, database, demo):
    with database.session() as session:
        hr = session.scalar(sa.select(Person).where(Person.userid == "hr_admin"))
        assert hr.has_role(Role.HR)
        [jwc] = [p for p in session.scalars(sa.select(Person)) if p.has_role(Role.ACADEMIC_AFFAIRS)]
        assert jwc.unit.name == "教务处" and jwc.has_role(Role.UNIT_HEAD)
