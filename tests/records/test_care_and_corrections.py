"""Care notes are encrypted and read only by their readers (every read audited); mentors list,
change and delete their own records until the cycle closes, every change audited."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.models import AssessmentCycle, AuditEntry, CycleStatus, Record, RecordKind
from bot.records.care import decrypt_note


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
    assert answer.startswith("已记录关爱记录（计入考核指标 B5）")
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
    from bot.models import OutboxMessage

    with database.session() as session:
        payloads = [str(row.payload) for row in session.scalars(sa.select(OutboxMessage))]
    assert not any("情绪低落" in payload for payload in payloads)


def test_the_author_reads_the_care_note_and_the_read_is_audited(
    phone, database, care_record, world
):
    phone.say(world.mentor, "查看 1")
    answer = phone.last_text(world.mentor)
    assert NOTE in answer
    [read] = _audit(database, "care_note")
    assert (read.action, read.entity_id) == ("read", str(care_record.id))


@pytest.mark.parametrize("reader", ["college_admin", "academy_admin"])
def test_the_assessing_college_and_the_academy_read_care_notes(
    phone, database, care_record, world, reader
):
    userid = getattr(world, reader)
    phone.say(userid, f"查看 #{care_record.id}")
    assert NOTE in phone.last_text(userid)
    [read] = _audit(database, "care_note")
    assert read.action == "read"


@pytest.mark.parametrize("reader", ["other_mentor", "other_admin", "student"])
def test_others_cannot_read_a_care_note(phone, database, care_record, world, reader):
    userid = getattr(world, reader)
    phone.say(userid, f"查看 #{care_record.id}")
    answer = phone.last_text(userid)
    assert "您无权查看这条关爱记录" in answer
    assert NOTE not in answer
    [refused] = _audit(database, "care_note")
    assert refused.action == "read_refused"


def test_another_mentor_cannot_see_an_ordinary_record_either(phone, world, database):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    phone.new(world.mentor)
    record = _only_record(database)
    phone.say(world.other_mentor, f"查看 #{record.id}")
    assert phone.last_text(world.other_mentor) == "您只能查看自己的记录。"


def test_care_record_asks_for_the_note_when_missing(phone, database, world):
    phone.say(world.mentor, "关爱 张三")
    assert "请发送关爱记录的内容" in phone.last_text(world.mentor)
    phone.say(world.mentor, "学习压力大")
    assert phone.last_text(world.mentor).startswith("已记录关爱记录")
    assert _only_record(database).sensitive_note is not None


def test_care_record_is_about_one_student(phone, database, world):
    phone.say(world.mentor, "关爱 张三 李四 学习压力大")
    assert "一条关爱记录只记一位学生" in phone.last_text(world.mentor)


def _record_three(phone, world):
    for text in ("交流 张三 昨天 聊选课", "交流 李四 线上 聊实习", "宣传 沙龙推文素材"):
        phone.say(world.mentor, text)
    phone.new(world.mentor)


def test_list_change_and_delete_own_records(phone, database, world):
    _record_three(phone, world)
    phone.say(world.mentor, "记录")
    listing = phone.last_text(world.mentor)
    assert "共 3 条" in listing
    assert "1. " in listing and "个别交流 聊选课 张三" in listing
    assert "3. " in listing and "宣传素材" in listing

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

    phone.say(world.mentor, "删除 1")
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
