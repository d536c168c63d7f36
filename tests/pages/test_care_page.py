"""The care-record page: the only place a care note is shown. Its readers (the author, the
assessing college's administrators, the academy office) see it after sign-in, every view is
audited once, nothing is cached; everybody else gets a Chinese error page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import AuditEntry, OutboxMessage, Person, Record, RecordKind
from tests.factories import signed_in
from tests.live import LiveApp, serve
from tests.records.conftest import Phone, World, build_world

NOTE = "最近情绪低落，和室友有矛盾，约了下周再谈"


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}


@pytest.fixture
def world(database) -> World:
    return build_world(database)


@pytest.fixture
def phone(app, client, database) -> Phone:
    return Phone(app, client, database)


@pytest.fixture
def care_id(phone, database, world) -> int:
    phone.say(world.mentor, f"关爱 张三 {NOTE}")
    assert phone.last_text(world.mentor).startswith("已记录关爱")
    with database.session() as session:
        return session.scalars(sa.select(Record.id)).one()


def reads(database) -> list[tuple[str, int, str]]:
    """(action, actor id, record id) of every care-note audit entry, oldest first."""
    with database.session() as session:
        return [
            (entry.action, entry.actor_id, entry.entity_id)
            for entry in session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.entity == "care_note")
                .order_by(AuditEntry.id)
            )
        ]


def person_id(database, userid: str) -> int:
    with database.session() as session:
        return session.scalar(sa.select(Person.id).where(Person.userid == userid))


@pytest.mark.parametrize("reader", ["mentor", "college_admin", "academy_admin"])
def test_readers_see_the_note_and_each_view_is_audited_once(
    app, database, world, care_id, reader, capfd
):
    userid = getattr(world, reader)
    browser = signed_in(app, userid)
    capfd.readouterr()
    page = browser.get(f"/m/care/{care_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NOTE in html
    assert "张三" in html and "王老师" in html and "关爱记录" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert reads(database) == [("read", person_id(database, userid), str(care_id))]
    assert browser.get(f"/m/care/{care_id}").status_code == 200
    assert len(reads(database)) == 2  # once per view
    logged = capfd.readouterr()
    assert NOTE not in logged.out + logged.err and "情绪" not in logged.out + logged.err


@pytest.mark.parametrize("reader", ["other_mentor", "student", "other_admin"])
def test_others_are_refused_and_the_attempt_is_audited(app, database, world, care_id, reader):
    userid = getattr(world, reader)
    page = signed_in(app, userid).get(f"/m/care/{care_id}")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "您无权查看这条关爱记录" in html
    assert NOTE not in html and "张三" not in html
    assert page.headers["Cache-Control"] == "no-store"
    assert reads(database) == [("read_refused", person_id(database, userid), str(care_id))]


def test_no_such_care_record_is_a_404(app, database, phone, world, care_id):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    with database.session() as session:
        contact = session.scalar(sa.select(Record.id).where(Record.kind == RecordKind.CONTACT))
    browser = signed_in(app, world.mentor)
    for path in (f"/m/care/{care_id + 1000}", f"/m/care/{contact}"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "没有这条关爱记录" in page.get_data(as_text=True)
    phone.say(world.mentor, "删除 2")  # newest first: the contact is 1, the care record 2
    card = phone.last_card(world.mentor)
    delete = next(b for b in card["button_list"] if b["text"] == "删除")
    phone.tap(world.mentor, card, delete["key"])
    assert phone.last_text(world.mentor).startswith("已删除")
    deleted = browser.get(f"/m/care/{care_id}")
    assert deleted.status_code == 404
    assert NOTE not in deleted.get_data(as_text=True)
    assert reads(database) == []


def test_an_id_out_of_range_is_a_404_not_a_500(app, database, world, care_id):
    browser = signed_in(app, world.mentor)
    for path in ("/m/care/99999999999999999999", "/m/care/2147483648", "/m/care/0"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "没有这条关爱记录" in page.get_data(as_text=True)
    assert reads(database) == []


def test_without_sign_in_the_page_sends_to_wecom_and_reads_nothing(app, database, care_id):
    page = app.test_client().get(f"/m/care/{care_id}")
    assert page.status_code == 302
    assert "/connect/oauth2/authorize" in page.headers["Location"]
    assert NOTE not in page.get_data(as_text=True)
    assert reads(database) == []


# -- the whole way: chat → card → OAuth sign-in → page, over real HTTP ----------------------


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        world = build_world(get_database(live.app))
        for userid, name in ((world.mentor, "王老师"), (world.other_mentor, "刘老师")):
            live.simulator.state.add_user(userid, name)
        yield live


def _browser(userid: str) -> requests.Session:
    """A phone's WeCom in-app browser: signed in to WeCom as ``userid``."""
    browser = requests.Session()
    browser.cookies.set("sim_userid", userid, domain="127.0.0.1", path="/simulator")
    return browser


def _last_card_url(live: LiveApp, userid: str) -> str:
    with get_database(live.app).session() as session:
        row = session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.userid == userid)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None and row.msgtype == "template_card", row
        return row.payload["template_card"]["card_action"]["url"]


def test_the_link_in_the_chat_opens_the_note_after_wecom_sign_in(live):
    database = get_database(live.app)
    assert live.simulator.send_text("wanglaoshi", f"关爱 张三 {NOTE}") == 200
    assert live.simulator.send_text("wanglaoshi", "查看 1") == 200
    url = _last_card_url(live, "wanglaoshi")
    assert url.startswith(live.base_url + "/m/care/")
    assert reads(database) == []

    page = _browser("wanglaoshi").get(url, timeout=10)
    assert page.status_code == 200
    assert any("/connect/oauth2/authorize" in r.headers.get("Location", "") for r in page.history)
    assert NOTE in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert [action for action, _, _ in reads(database)] == ["read"]  # the sign-in hops read nothing

    refused = _browser("liulaoshi").get(url, timeout=10)
    assert refused.status_code == 403
    assert NOTE not in refused.text
    assert [action for action, _, _ in reads(database)] == ["read", "read_refused"]
    with database.session() as session:
        cells = [
            json.dumps(row.payload, ensure_ascii=False) + row.key
            for row in session.scalars(sa.select(OutboxMessage))
        ]
    assert cells and not [cell for cell in cells if NOTE in cell]
