import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.models import OutboxMessage, ProcessedCallback, Role
from tests.factories import WeComCaller, add_person


@pytest.fixture
def wecom(app, client):
    return WeComCaller(app, client)


@pytest.fixture
def mentor(database):
    with database.session() as session:
        return add_person(session, "wanglaoshi", "王老师", Role.MENTOR).userid


def _outbox(database):
    with database.session() as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _processed(database):
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(ProcessedCallback))


def test_url_verification_answers_the_echo(app, client):
    query = app.extensions["wecom_crypto"].build_url_verification(
        "1616140317555161061", timestamp=int(time.time()), nonce="abc"
    )
    response = client.get("/wecom/callback", query_string=query)
    assert response.status_code == 200
    assert response.text == "1616140317555161061"
    assert response.mimetype == "text/plain"


def test_url_verification_with_forged_signature_is_refused(app, client):
    query = app.extensions["wecom_crypto"].build_url_verification(
        "echo", timestamp=int(time.time()), nonce="abc"
    )
    query["msg_signature"] = "0" * 40
    assert client.get("/wecom/callback", query_string=query).status_code == 403


def test_help_for_a_mentor(wecom, database, mentor):
    response = wecom.text(mentor, "帮助")
    assert response.status_code == 200
    assert response.data == b""
    [row] = _outbox(database)
    assert row.userid == mentor
    assert row.msgtype == "text"
    content = row.payload["text"]["content"]
    assert "异科导师" in content
    assert "交流 张三" in content


def test_help_depends_on_role(wecom, database):
    with database.session() as session:
        add_person(session, "zhangsan", "张三", Role.STUDENT)
    wecom.text("zhangsan", "帮助")
    [row] = _outbox(database)
    content = row.payload["text"]["content"]
    assert "学生" in content
    assert "交流 张三" not in content


def test_unrecognised_text_answers_with_help(wecom, database, mentor):
    wecom.text(mentor, "今天天气不错")
    [row] = _outbox(database)
    assert row.payload["text"]["content"].startswith("抱歉，没有理解您的消息")


def test_sender_not_on_roster_gets_one_polite_reply(wecom, database):
    assert wecom.text("stranger", "帮助").status_code == 200
    [row] = _outbox(database)
    assert row.userid == "stranger"
    assert "不在全生异科导师工作名单中" in row.payload["text"]["content"]
    assert "书院部" in row.payload["text"]["content"]


def test_retries_are_acted_on_once(wecom, database, mentor):
    for _ in range(3):
        assert wecom.text(mentor, "帮助", msg_id=1234567890123).status_code == 200
    assert len(_outbox(database)) == 1
    assert _processed(database) == 1


def test_database_marker_stops_a_duplicate_redis_forgot(app, wecom, database, mentor):
    wecom.text(mentor, "帮助", msg_id=555)
    app.extensions["redis"].delete_all_keys()
    wecom.text(mentor, "帮助", msg_id=555)
    assert len(_outbox(database)) == 1


def test_menu_click_help(wecom, database, mentor):
    assert wecom.click(mentor, "help").status_code == 200
    [row] = _outbox(database)
    assert "您可以" in row.payload["text"]["content"]


@pytest.mark.parametrize(
    "tamper",
    [
        {"msg_signature": "f" * 40},
        {"nonce": "other"},
        {"timestamp": "abc"},
        {"msg_signature": ""},
    ],
)
def test_tampered_query_is_refused_with_nothing_stored(wecom, database, mentor, tamper):
    response = wecom.post_xml(wecom.envelope(mentor).text("帮助", 42), **tamper)
    assert 400 <= response.status_code < 500
    assert response.data == b""
    assert _outbox(database) == []
    assert _processed(database) == 0


@pytest.mark.parametrize("offset", [-301, 301, -100000])
def test_stale_timestamp_is_refused(wecom, database, mentor, offset):
    xml = wecom.envelope(mentor).text("帮助", 43)
    response = wecom.post_xml(xml, timestamp=int(time.time()) + offset)
    assert response.status_code == 403
    assert _outbox(database) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"<xml><Encrypt>",
        b"<xml></xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<xml><Encrypt>&e;</Encrypt></xml>",
        "<xml><Encrypt>不是密文</Encrypt></xml>".encode(),
    ],
)
def test_hostile_bodies_are_refused(client, database, body):
    query = {"msg_signature": "a" * 40, "timestamp": str(int(time.time())), "nonce": "x"}
    response = client.post("/wecom/callback", query_string=query, data=body)
    assert 400 <= response.status_code < 500
    assert response.data == b""
    assert _processed(database) == 0


def test_oversized_body_is_refused(client, database):
    query = {"msg_signature": "a" * 40, "timestamp": str(int(time.time())), "nonce": "x"}
    response = client.post("/wecom/callback", query_string=query, data=b"<" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert _processed(database) == 0


def test_missing_query_is_refused(client):
    assert client.post("/wecom/callback", data=b"<xml/>").status_code == 400
    assert client.get("/wecom/callback").status_code == 400


def test_url_verification_with_stale_timestamp_is_refused(app, client):
    query = app.extensions["wecom_crypto"].build_url_verification(
        "echo", timestamp=int(time.time()) - 3600, nonce="abc"
    )
    assert client.get("/wecom/callback", query_string=query).status_code == 403


def test_a_failing_handler_rolls_back_and_apologises_once(wecom, database, mentor, monkeypatch):
    from bot.chat import dispatch
    from bot.core.models import AuditEntry

    def explode(message, *, session, **kwargs):
        session.add(AuditEntry(at=datetime.now(UTC), action="x", entity="x", entity_id="1"))
        session.flush()
        raise RuntimeError("bug")

    monkeypatch.setattr(dispatch, "handle", explode)
    for _ in range(2):
        assert wecom.text(mentor, "帮助", msg_id=777).status_code == 200
    [row] = _outbox(database)
    assert row.payload["text"]["content"] == "抱歉，处理您的消息时出错了，请稍后再试。"
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_a_visitor_is_answered_at_most_once_a_day(app, wecom, database):
    """Not on the roster: told whom to contact once a day, however often they write or open
    the app (the next day once more)."""
    from bot.chat import dispatch
    from bot.wecom import messages as wm

    assert wecom.text("stranger", "帮助").status_code == 200
    assert wecom.text("Stranger", "你好").status_code == 200  # ids are case-insensitive
    assert wecom.post_xml(wecom.envelope("stranger").event("enter_agent")).status_code == 200
    [row] = _outbox(database)
    assert (
        row.userid == "stranger" and "不在全生异科导师工作名单中" in row.payload["text"]["content"]
    )

    tomorrow = row.created_at + timedelta(days=1)
    message = wm.parse_message(wecom.envelope("stranger").text("再问一次", 1))
    with database.session() as session:
        dispatch.handle(
            message,
            session=session,
            settings=app.extensions["settings"],
            dispatcher=app.extensions["dispatcher"],
            now=tomorrow,
            store=app.extensions["redis"],
        )
    assert len(_outbox(database)) == 2


def test_wecom_sys_events_are_never_answered(wecom, database):
    """change_contact comes from sys: not a person, and a send to sys fails with 81013."""
    xml = wecom.envelope("sys").change_contact("update_user", "zhangsan")
    assert wecom.post_xml(xml).status_code == 200
    assert _outbox(database) == []
    assert _processed(database) == 1
