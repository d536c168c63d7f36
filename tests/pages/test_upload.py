"""In-app pages: WeCom OAuth sign-in, then the upload page, all over real HTTP."""

import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import AcademicYear, AuditEntry, EvidenceFile, OutboxMessage, Record, Role
from bot.core.rubrics import items_counted
from tests.factories import add_person
from tests.live import LiveApp, serve

PDF = b"%PDF-1.4\n" + b"0" * 2000


def _current_year() -> AcademicYear:
    today = date.today()
    first = today.year if today.month >= 9 else today.year - 1
    return AcademicYear(
        code=f"{first}-{first + 1}", starts_on=date(first, 9, 1), ends_on=date(first + 1, 8, 31)
    )


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        with database.session() as session:
            session.add(
                AcademicYear(
                    code="2026-2027", starts_on=date(2026, 9, 1), ends_on=date(2027, 8, 31)
                )
            )
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
            add_person(session, "zhangsan", "张三", Role.STUDENT)
        live.simulator.state.add_user("wanglaoshi", "王老师")
        live.simulator.state.add_user("zhangsan", "张三")
        yield live


def _browser(live: LiveApp, userid: str) -> requests.Session:
    """A phone's WeCom in-app browser: signed in to WeCom as ``userid``."""
    browser = requests.Session()
    browser.cookies.set("sim_userid", userid, domain="127.0.0.1", path="/simulator")
    return browser


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _count(live: LiveApp, model) -> int:
    with get_database(live.app).session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sign_in_and_upload_a_semester_plan(live):
    browser = _browser(live, "wanglaoshi")
    page = browser.get(live.base_url + "/m/upload?purpose=semester_plan", timeout=10)
    assert page.status_code == 200
    assert "上传学期工作计划" in page.text
    assert any("/connect/oauth2/authorize" in r.headers.get("Location", "") for r in page.history)
    answer = browser.post(
        live.base_url + "/m/upload",
        data={"csrf": _csrf(page.text), "purpose": "semester_plan"},
        files={"file": ("2026秋季学期计划.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert answer.status_code == 200
    assert "上传成功" in answer.text
    with get_database(live.app).session() as session:
        evidence = session.scalars(sa.select(EvidenceFile)).one()
        record = session.scalars(sa.select(Record)).one()
        assert evidence.record_id == record.id
        assert evidence.filename == "2026秋季学期计划.pdf"
        assert evidence.size == len(PDF)
        assert record.kind == "semester_plan"
        assert items_counted(session, record) == ("B4",)
        stored = live.app.extensions["settings"].storage_dir(live.app.instance_path)
        assert (stored / evidence.storage_key).read_bytes() == PDF
        [confirmation] = session.scalars(sa.select(OutboxMessage)).all()
        assert confirmation.userid == "wanglaoshi"
        assert "学期工作计划" in confirmation.payload["text"]["content"]
        assert session.scalars(sa.select(AuditEntry)).one().action == "upload"


@pytest.mark.parametrize(
    ("filename", "content", "status", "message"),
    [
        ("plan.exe", b"MZ" + b"0" * 100, 400, "不支持这种文件"),
        ("plan.pdf", b"PK\x03\x04" + b"0" * 100, 400, "文件内容与扩展名 .pdf 不符"),
        ("plan.pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024), 413, "不能超过 20 MB"),
        ("plan.pdf", b"", 400, "文件是空的"),
    ],
)
def test_bad_files_are_refused_with_the_reason(live, filename, content, status, message):
    browser = _browser(live, "wanglaoshi")
    page = browser.get(live.base_url + "/m/upload?purpose=monthly_plan", timeout=10)
    answer = browser.post(
        live.base_url + "/m/upload",
        data={"csrf": _csrf(page.text), "purpose": "monthly_plan"},
        files={"file": (filename, content, "application/octet-stream")},
        timeout=30,
    )
    assert answer.status_code == status
    assert message in answer.text
    assert _count(live, EvidenceFile) == 0
    assert _count(live, OutboxMessage) == 0


def test_missing_csrf_token_is_refused(live):
    browser = _browser(live, "wanglaoshi")
    browser.get(live.base_url + "/m/upload?purpose=monthly_plan", timeout=10)
    answer = browser.post(
        live.base_url + "/m/upload",
        data={"purpose": "monthly_plan"},
        files={"file": ("plan.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert answer.status_code == 400
    assert _count(live, EvidenceFile) == 0


def test_a_student_may_not_upload_a_mentors_plan(live):
    page = _browser(live, "zhangsan").get(
        live.base_url + "/m/upload?purpose=semester_plan", timeout=10
    )
    assert page.status_code == 403
    assert "没有上传“学期工作计划”的权限" in page.text


def test_a_person_not_on_the_roster_cannot_sign_in(live):
    live.simulator.state.add_user("visitor", "访客")
    page = _browser(live, "visitor").get(live.base_url + "/m/upload?purpose=semester_plan")
    assert page.status_code == 403
    assert "不在全生异科导师工作名单中" in page.text


def test_an_oauth_code_works_once(live):
    browser = _browser(live, "wanglaoshi")
    first = browser.get(live.base_url + "/m/upload?purpose=semester_plan", timeout=10)
    callback = next(r for r in first.history if "/m/oauth/callback" in r.url).url
    again = requests.Session().get(callback, timeout=10)
    assert again.status_code == 400
    assert "登录链接已失效" in again.text or "授权码无效或已使用" in again.text


def test_forged_state_is_refused(live):
    code = live.simulator.state.issue_oauth_code("wanglaoshi")
    answer = requests.get(
        live.base_url + "/m/oauth/callback", params={"code": code, "state": "forged"}, timeout=10
    )
    assert answer.status_code == 400
    assert "登录链接已失效" in answer.text


def test_upload_command_links_to_the_page(live):
    live.simulator.send_text("wanglaoshi", "上传")
    live.drain()
    [reply] = [e for e in live.simulator.conversation("wanglaoshi") if e["direction"] == "out"]
    assert reply["msgtype"] == "markdown"
    assert f"({live.base_url}/m/upload?purpose=annual_summary)" in reply["payload"]["content"]
    live.simulator.send_text("zhangsan", "上传")
    live.drain()
    [reply] = [e for e in live.simulator.conversation("zhangsan") if e["direction"] == "out"]
    assert reply["payload"]["content"] == "您目前没有需要上传的材料。"


def test_the_oauth_state_is_short_and_alphanumeric_and_the_simulator_insists(live):
    """WeCom takes a state of at most 128 bytes of a-zA-Z0-9; the page to come back to waits
    in the session, and only this session's state is accepted."""
    browser = _browser(live, "wanglaoshi")
    page = browser.get(live.base_url + "/m/upload?purpose=semester_plan", timeout=10)
    assert page.status_code == 200 and "上传学期工作计划" in page.text
    authorize = next(
        r.headers["Location"]
        for r in page.history
        if "/connect/oauth2/authorize" in r.headers.get("Location", "")
    )
    [state] = parse_qs(urlsplit(authorize).query)["state"]
    assert re.fullmatch(r"[a-zA-Z0-9]{1,128}", state)

    refused = browser.get(authorize.replace(state, state + ".-_"), timeout=10)
    assert refused.status_code == 400 and "a-zA-Z0-9" in refused.text
    other = _browser(live, "wanglaoshi")  # another browser cannot use this state
    code = live.simulator.state.issue_oauth_code("wanglaoshi")
    answer = other.get(
        live.base_url + "/m/oauth/callback", params={"code": code, "state": state}, timeout=10
    )
    assert answer.status_code == 400 and "登录链接已失效" in answer.text


def test_sign_in_finds_the_roster_id_in_another_case(live):
    """WeCom ids are case-insensitive: the roster says LiuLaoShi, WeCom signs in liulaoshi."""
    with get_database(live.app).session() as session:
        add_person(session, "LiuLaoShi", "刘老师", Role.MENTOR)
    live.simulator.state.add_user("liulaoshi", "刘老师")
    page = _browser(live, "liulaoshi").get(
        live.base_url + "/m/upload?purpose=semester_plan", timeout=10
    )
    assert page.status_code == 200 and "上传学期工作计划" in page.text
    assert "不在全生异科导师工作名单中" not in page.text
