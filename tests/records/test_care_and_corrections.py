"""Care notes are encrypted and read only by their readers (every read audited); mentors list,
change and delete their own records until the cycle closes, every change audited."""

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    OutboxMessage,
    Record,
    RecordKind,
)
from bot.records.care import decrypt_note
from handlers.record_flow import MENU_CARE
from handlers.record_list import CARE_HIDDEN, NO_SUCH_RECORD


def _only_record(database) -> Record:
    with database.session() as session:
        [record] = session.scalars(sa.select(Record)).all()
        return record


def _audit(database, entity: str):
    with database.session() as session:
        return session.scalars(
            sa.select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        ).all()


NOTE = "最近情绪低落，和室友有矛盾，约了下周再谈"


@pytest.fixture
def care_record(phone, database, world) -> Record:
    phone.say(world.mentor, f"关爱 张三 {NOTE}")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已记录关爱（计入考核指标 B5）")
    assert "情绪" not in answer  # never echoed in a push
    return _only_record(database)


def test_care_note_is_encrypted_at_rest(app, database, care_record):
    assert care_record.kind == RecordKind.CARE
    assert care_record.note is None
    assert care_record.title == ""
    assert NOTE.encode() not in care_record.sensitive_note
    key = app.extensions["settings"].CARE_NOTES_KEY
    assert decrypt_note(key, care_record.sensitive_note) == NOTE
    [created] = _audit(database, "record")
    assert NOTE not in str(created.after)


def test_care_note_text_is_not_in_the_outbox(phone, database, care_record, world):
    assert not [cell for cell in _outbox_cells(database) if "情绪低落" in cell]


def _outbox_cells(database) -> list[str]:
    """Every column of every outbox row, as text."""
    with database.session() as session:
        rows = session.scalars(sa.select(OutboxMessage)).all()
        return [
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
            for row in rows
            for value in (getattr(row, column.key) for column in OutboxMessage.__table__.columns)
        ]


def _card_texts(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def test_show_on_a_care_record_sends_a_link_to_the_page_not_the_note(
    app, phone, database, care_record, world
):
    phone.say(world.mentor, "查看 1")
    card = phone.last_card(world.mentor)
    base = app.extensions["settings"].PUBLIC_BASE_URL
    assert card["card_type"] == "text_notice"
    assert card["card_action"] == {"type": 1, "url": f"{base}/m/care/{care_record.id}"}
    assert card["sub_title_text"] == CARE_HIDDEN
    assert "关爱记录" in card["main_title"]["title"]
    assert {"keyname": "学生", "value": "张三"} in card["horizontal_content_list"]
    assert NOTE not in _card_texts(card) and "情绪" not in _card_texts(card)
    cells = _outbox_cells(database)
    assert cells  # the confirmation and the card are there
    assert not [cell for cell in cells if NOTE in cell or "情绪低落" in cell]
    assert _audit(database, "care_note") == []  # sending a link reads nothing


@pytest.mark.parametrize("reader", ["college_admin", "academy_admin"])
def test_the_assessing_college_and_the_academy_get_the_link_too(
    app, phone, database, care_record, world, reader
):
    userid = getattr(world, reader)
    phone.say(userid, f"查看 #{care_record.id}")
    card = phone.last_card(userid)
    assert card["card_action"]["url"].endswith(f"/m/care/{care_record.id}")
    assert {"keyname": "导师", "value": "王老师"} in card["horizontal_content_list"]
    assert NOTE not in _card_texts(card)
    assert not [cell for cell in _outbox_cells(database) if NOTE in cell]
    assert _audit(database, "care_note") == []


@pytest.mark.parametrize("reader", ["other_mentor", "other_admin", "student"])
def test_others_cannot_read_a_care_note(phone, database, care_record, world, reader):
    userid = getattr(world, reader)
    phone.say(userid, f"查看 #{care_record.id}")
    messages = phone.new(userid)
    assert [m["msgtype"] for m in messages] == ["text"]  # no card, no link
    answer = messages[0]["text"]["content"]
    assert answer == NO_SUCH_RECORD  # the same answer as for an id nobody has
    assert NOTE not in answer and "/m/care/" not in answer
    [refused] = _audit(database, "care_note")
    assert refused.action == "read_refused"


def test_a_changed_care_note_is_not_echoed(app, phone, database, care_record, world):
    phone.say(world.mentor, "修改 1 内容 新的情况：已转介心理中心")
    assert phone.last_text(world.mentor) == "已修改第 1 条的内容：已加密保存"
    assert not [cell for cell in _outbox_cells(database) if "心理中心" in cell]
    with database.session() as session:
        record = session.get(Record, care_record.id)
        key = app.extensions["settings"].CARE_NOTES_KEY
        assert decrypt_note(key, record.sensitive_note) == "新的情况：已转介心理中心"
        assert record.note is None


def test_a_care_record_takes_no_plain_text_title(phone, database, care_record, world):
    phone.say(world.mentor, "修改 1 名称 心理危机")
    assert "关爱记录没有名称" in phone.last_text(world.mentor)
    with database.session() as session:
        assert session.get(Record, care_record.id).title == ""


def _redis_values(app) -> list[str]:
    store = app.extensions["redis"]
    values = [store.client.get(key) for key in store.client.scan_iter(match=store.key("*"))]
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values if v is not None]


def test_a_care_note_waiting_in_a_flow_is_sealed_in_redis(app, phone, database, world):
    phone.say(world.mentor, f"关爱 王五 {NOTE}")  # two students are called 王五: a question
    card = phone.last_card(world.mentor)
    values = _redis_values(app)
    assert any('"sealed_note"' in value for value in values)  # the flow, decoded
    assert not [value for value in values if NOTE in value or "情绪" in value]
    phone.tap(
        world.mentor,
        card,
        card["submit_button"]["key"],
        [("students", [str(world.ids["wangwu1"])])],
    )
    assert phone.last_text(world.mentor).startswith("已记录关爱")
    record = _only_record(database)
    key = app.extensions["settings"].CARE_NOTES_KEY
    assert decrypt_note(key, record.sensitive_note) == NOTE
    assert record.note is None


def test_another_mentor_cannot_see_an_ordinary_record_either(phone, world, database):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    phone.new(world.mentor)
    record = _only_record(database)
    phone.say(world.other_mentor, f"查看 #{record.id}")
    assert phone.last_text(world.other_mentor) == NO_SUCH_RECORD


def test_care_record_asks_for_the_note_when_missing(phone, database, world):
    phone.say(world.mentor, "关爱 张三")
    assert "请发送关爱记录的内容" in phone.last_text(world.mentor)
    phone.say(world.mentor, "学习压力大")
    assert phone.last_text(world.mentor).startswith("已记录关爱")
    assert _only_record(database).sensitive_note is not None


def test_care_record_is_about_one_student(phone, database, world):
    phone.say(world.mentor, "关爱 张三 李四 学习压力大")
    assert "一条关爱记录只记一位学生" in phone.last_text(world.mentor)


def _tap(phone, userid, card, text):
    phone.tap(userid, card, next(b for b in card["button_list"] if b["text"] == text)["key"])


def _record_three(phone, world):
    for text in ("交流 张三 昨天19:00 聊选课", "交流 李四 线上 聊实习", "宣传 沙龙推文素材"):
        phone.say(world.mentor, text)
    phone.new(world.mentor)


def test_list_change_and_delete_own_records(phone, database, world):
    _record_three(phone, world)
    phone.say(world.mentor, "记录")
    listing = phone.last_text(world.mentor)
    assert "共 3 条" in listing
    assert "1. " in listing and "宣传素材" in listing
    assert "3. " in listing and "个别交流 聊选课 张三" in listing

    phone.say(world.mentor, "修改 2 地点 图书馆")
    assert phone.last_text(world.mentor) == "已修改第 2 条的地点：图书馆"
    phone.say(world.mentor, "修改 2 学生 张三 zhousong")
    assert "已修改第 2 条的学生" in phone.last_text(world.mentor)
    phone.say(world.mentor, "修改 2 学生 赵六")
    assert "没有找到“赵六”" in phone.last_text(world.mentor)
    with database.session() as session:
        changed = session.scalar(sa.select(Record).where(Record.note == "聊实习"))
        assert changed.place == "图书馆" and changed.online is False
        assert sorted(p.student.name for p in changed.participants) == ["周松", "张三"]

    phone.say(world.mentor, "删除 3")  # newest first: 3 is yesterday's 聊选课
    _tap(phone, world.mentor, phone.last_card(world.mentor), "删除")
    assert phone.last_text(world.mentor).startswith("已删除：")
    phone.say(world.mentor, "我的记录")
    assert "共 2 条" in phone.last_text(world.mentor)
    phone.say(world.mentor, "删除 9")
    assert "没有第 9 条记录" in phone.last_text(world.mentor)

    entries = _audit(database, "record")
    assert [entry.action for entry in entries] == ["create"] * 3 + ["update", "update", "delete"]
    place_change = entries[3]
    assert place_change.before["place"] is None and place_change.after["place"] == "图书馆"
    assert entries[5].before["note"] == "聊选课" and entries[5].after is None


def test_a_future_date_cannot_be_set_by_a_change(phone, database, world):
    _record_three(phone, world)
    phone.say(world.mentor, "修改 1 时间 2099-01-01")
    assert "还没有到" in phone.last_text(world.mentor)


def test_nothing_changes_after_the_cycle_closes(phone, database, world):
    _record_three(phone, world)
    with database.session() as session:
        session.add(
            AssessmentCycle(
                year_id=world.year_id,
                status=CycleStatus.CLOSED,
                rubric="2021",
                opened_at=datetime.now(UTC),
                closed_at=datetime.now(UTC),
            )
        )
    phone.say(world.mentor, "删除 1")
    assert "考核已经结束" in phone.last_text(world.mentor)
    phone.say(world.mentor, "修改 1 地点 图书馆")
    assert "考核已经结束" in phone.last_text(world.mentor)
    assert len(_audit(database, "record")) == 3


def test_a_mentor_cannot_change_anothers_records(phone, database, world):
    _record_three(phone, world)
    phone.say(world.other_mentor, "删除 1")
    assert "没有第 1 条记录" in phone.last_text(world.other_mentor)
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Record.deleted_at.is_not(None))) == 0


def test_the_guided_care_flow_seals_the_note_and_does_not_echo_it(app, phone, database, world):
    phone.menu(world.mentor, MENU_CARE)
    card = phone.last_card(world.mentor)
    phone.tap(
        world.mentor, card, card["submit_button"]["key"], [("students", [str(world.ids["lisi"])])]
    )
    card = phone.last_card(world.mentor)
    phone.tap(
        world.mentor, card, next(b for b in card["button_list"] if b["text"] == "昨天")["key"]
    )
    card = phone.last_card(world.mentor)  # a past day: which hour
    phone.tap(world.mentor, card, card["button_list"][2]["key"])  # 晚上 7:00
    assert "请发送关爱记录的内容" in phone.last_text(world.mentor)
    phone.say(world.mentor, NOTE)
    card = phone.last_card(world.mentor)  # the confirm card: the note waits in Redis
    assert {"keyname": "内容", "value": "已填写（加密保存）"} in card["horizontal_content_list"]
    assert any('"sealed_note"' in value for value in _redis_values(app))
    assert not [value for value in _redis_values(app) if "情绪" in value]
    phone.tap(
        world.mentor, card, next(b for b in card["button_list"] if b["text"] == "保存")["key"]
    )
    assert phone.last_text(world.mentor).startswith("已记录关爱")
    record = _only_record(database)
    assert decrypt_note(app.extensions["settings"].CARE_NOTES_KEY, record.sensitive_note) == NOTE
    assert not [cell for cell in _outbox_cells(database) if "情绪" in cell]


def test_renaming_an_activity_changes_what_it_counts_for(phone, database, world):
    """The activity type follows the title: a reading salon renamed a lecture counts for M4,
    no longer for M5, and the list says so."""
    phone.say(world.mentor, "活动 读书沙龙 昨天19:00 图书馆 参加：张三")
    assert "计入考核指标 M2、M5" in phone.last_text(world.mentor)
    phone.say(world.mentor, "修改 1 名称 人工智能学术讲座")
    assert phone.last_text(world.mentor) == "已修改第 1 条的名称：人工智能学术讲座"
    with database.session() as session:
        record = session.scalars(sa.select(Record)).one()
        assert record.activity_type == "学术讲座"
    phone.say(world.mentor, "记录")
    assert "集体活动" in phone.last_text(world.mentor)
    phone.say(world.mentor, "查看 1")
    assert phone.last_text(world.mentor).startswith("第 1 条：集体活动（M2、M4）")


def test_a_changed_time_that_cannot_exist_is_refused(phone, database, world):
    _record_three(phone, world)
    with database.session() as session:
        before = sorted(r.occurred_at for r in session.scalars(sa.select(Record)))
    for text in ("修改 3 时间 昨天 25:00", "修改 3 时间 25:00", "修改 3 时间 11月20日25:00"):
        phone.say(world.mentor, text)
        assert "时间“25:00”不存在" in phone.last_text(world.mentor)
    with database.session() as session:
        assert sorted(r.occurred_at for r in session.scalars(sa.select(Record))) == before
