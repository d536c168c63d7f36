"""Events WeCom sends besides messages and taps (issue 17), emitted from the simulator's page:
change_contact keeps the roster true (a changed userid is followed, a deleted member is marked
as left with their records kept, the office told); LOCATION is ignored silently; a choice in a
card's top-right menu (template_card_menu_event) is taken without an error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import (
    AcademicYear,
    AuditEntry,
    OutboxMessage,
    Person,
    ProcessedCallback,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
)
from tests.factories import add_person
from tests.live import LiveApp, serve
from tests.records.conftest import year_around

PEOPLE = (
    ("wanglaoshi", "王老师", Role.MENTOR),
    ("zhangsan", "张三", Role.STUDENT),
    ("lisi", "李四", Role.STUDENT),
    ("shuyuan", "书院部老师", Role.ACADEMY_ADMIN),
)


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        with get_database(live.app).session() as session:
            for userid, name, role in PEOPLE:
                add_person(session, userid, name, role)
        for userid, name, _ in PEOPLE:
            live.simulator.state.add_user(userid, name)
        yield live


def _texts(live: LiveApp, userid: str) -> list[str]:
    return [
        entry["payload"]["content"]
        for entry in live.simulator.conversation(userid)
        if entry["direction"] == "out" and entry["msgtype"] == "text"
    ]


def _person(live: LiveApp, number: str) -> Person:
    with get_database(live.app).session() as session:
        person = session.scalar(sa.select(Person).where(Person.number == number))
        session.expunge(person)
        return person


def _outbox_count(live: LiveApp) -> int:
    with get_database(live.app).session() as session:
        return session.scalar(sa.select(sa.func.count(OutboxMessage.id)))


def _add_record(live: LiveApp, student: str) -> int:
    now = datetime.now(UTC)
    with get_database(live.app).session() as session:
        mentor = session.scalar(sa.select(Person).where(Person.userid == "wanglaoshi"))
        pupil = session.scalar(sa.select(Person).where(Person.userid == student))
        code, starts, ends = year_around(now.date())
        year = AcademicYear(code=code, starts_on=starts, ends_on=ends)
        session.add(year)
        session.flush()
        record = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            activity_type="读书沙龙",
            title="读书沙龙",
            occurred_at=now,
            created_at=now,
            updated_at=now,
        )
        record.participants = [RecordParticipant(student_id=pupil.id)]
        session.add(record)
        session.flush()
        return record.id


def test_a_changed_userid_is_followed_and_the_office_told(live):
    before = _person(live, "ZHANGSAN")
    assert live.simulator.change_contact("update_user", "zhangsan", "zhangsan2024") == 200
    after = _person(live, "ZHANGSAN")
    assert (after.id, after.userid, after.active) == (before.id, "zhangsan2024", True)
    live.drain()
    [told] = _texts(live, "shuyuan")
    assert "zhangsan 改为 zhangsan2024" in told and "名册表" in told
    # the renamed account talks to the bot as the same person
    assert live.simulator.send_text("zhangsan2024", "帮助") == 200
    live.drain()
    [answer] = _texts(live, "zhangsan2024")
    assert "不在全生异科导师工作名单中" not in answer
    with get_database(live.app).session() as session:
        entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "wecom_rename"))
    assert entry.before == {"userid": "zhangsan"}
    assert entry.after == {"userid": "zhangsan2024", "by": "wecom"}


def test_a_change_to_an_id_the_roster_already_uses_changes_nothing_and_is_reported(live):
    assert live.simulator.change_contact("update_user", "zhangsan", "LiSi") == 200
    assert _person(live, "ZHANGSAN").userid == "zhangsan"
    live.drain()
    [told] = _texts(live, "shuyuan")
    assert "未自动更新" in told


def test_a_deleted_member_is_marked_as_left_records_kept_and_the_office_told(live):
    record_id = _add_record(live, "lisi")
    assert live.simulator.change_contact("delete_user", "lisi") == 200
    lisi = _person(live, "LISI")
    assert lisi.active is False
    with get_database(live.app).session() as session:
        participants = session.scalars(
            sa.select(RecordParticipant.student_id).where(RecordParticipant.record_id == record_id)
        ).all()
    assert participants == [lisi.id]
    live.drain()
    [told] = _texts(live, "shuyuan")
    assert "李四（LISI）" in told and "标记为离开" in told and "记录" in told
    assert _texts(live, "lisi") == []


def test_contact_events_from_anyone_but_sys_change_nothing(live):
    xml = live.simulator.envelope("wanglaoshi").change_contact("delete_user", "lisi")
    assert live.simulator._post(xml) == 200
    assert _person(live, "LISI").active is True
    assert _outbox_count(live) == 0


def test_location_reports_are_ignored_silently_also_from_visitors(live):
    live.simulator.state.add_user("visitor", "访客")
    for userid in ("wanglaoshi", "visitor"):
        assert live.simulator.send_location(userid, 31.2304, 121.4737) == 200
    assert _outbox_count(live) == 0
    with get_database(live.app).session() as session:
        assert session.scalar(sa.select(sa.func.count(ProcessedCallback.id))) == 2


def test_a_card_menu_choice_is_taken_without_an_error(live):
    card = {
        "card_type": "text_notice",
        "main_title": {"title": "通知"},
        "task_id": "menu-card-1",
        "action_menu": {"desc": "更多", "action_list": [{"text": "不再提醒", "key": "mute"}]},
        "card_action": {"type": 1, "url": "https://example.invalid/"},
    }
    live.app.extensions["wecom_client"].send(
        ["wanglaoshi"], {"msgtype": "template_card", "template_card": card}
    )
    status = live.simulator.tap_card_menu(
        "wanglaoshi", task_id="menu-card-1", card_type="text_notice", event_key="mute"
    )
    assert status == 200
    assert _outbox_count(live) == 0  # nothing registered for it: ignored, no error


def test_the_page_emits_the_events(live):
    browser = live.app.test_client()
    assert browser.post("/simulator/api/location", json={"userid": "lisi"}).status_code == 200
    answer = browser.post(
        "/simulator/api/contact",
        json={"userid": "lisi", "change_type": "update_user", "new_userid": "lisi_new"},
    )
    assert answer.status_code == 200
    assert _person(live, "LISI").userid == "lisi_new"
    answer = browser.post(
        "/simulator/api/contact", json={"userid": "lisi_new", "change_type": "delete_user"}
    )
    assert answer.status_code == 200
    assert _person(live, "LISI").active is False
    refused = browser.post("/simulator/api/contact", json={"userid": "x", "change_type": "bad"})
    assert refused.status_code == 400
    page = browser.get("/simulator/").text
    assert "上报地理位置" in page and "通讯录：删除成员" in page
