"""删除 asks on a card before deleting; a mentor restores a deleted record within a day (恢复);
the 记录 list is newest first and numbered as shown; a deleted record counts for nothing."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.core.models import AcademicYear, AuditEntry, Record
from bot.cycle.evidence import record_facts
from handlers.record_delete import DELETE


def _live(database) -> list[str]:
    with database.session() as session:
        return [
            row.note or row.title
            for row in session.scalars(
                sa.select(Record).where(Record.deleted_at.is_(None)).order_by(Record.id)
            )
        ]


def _tap(phone, userid, card, text):
    phone.tap(userid, card, next(b for b in card["button_list"] if b["text"] == text)["key"])


def _record(phone, world, *texts):
    for text in texts:
        phone.say(world.mentor, text)
    phone.new(world.mentor)


def test_the_list_is_newest_first_numbered_as_shown(phone, world):
    _record(
        phone, world, "交流 张三 昨天19:00 聊选课", "交流 李四 前天19:00 聊实习", "宣传 推文素材"
    )
    phone.say(world.mentor, "记录")
    lines = phone.last_text(world.mentor).splitlines()
    assert "共 3 条，新的在前" in lines[0]
    assert lines[1].startswith("1. ") and "宣传" in lines[1]  # today
    assert lines[2].startswith("2. ") and "聊选课" in lines[2]  # yesterday
    assert lines[3].startswith("3. ") and "聊实习" in lines[3]  # the day before
    hint = lines[-1]
    assert "查看 1" in hint and "删除 1" in hint
    phone.say(world.mentor, "查看 3")
    assert "内容：聊实习" in phone.last_text(world.mentor)


def test_delete_asks_first_and_cancel_keeps_the_record(phone, database, world):
    _record(phone, world, "交流 张三 昨天19:00 聊选课")
    phone.say(world.mentor, "删除 1")
    card = phone.last_card(world.mentor)
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "删除第 1 条记录？"
    assert "个别交流" in card["main_title"]["desc"] and "张三" in card["main_title"]["desc"]
    assert [b["text"] for b in card["button_list"]] == ["删除", "取消"]
    assert _live(database) == ["聊选课"]  # nothing deleted yet
    _tap(phone, world.mentor, card, "取消")
    assert phone.last_text(world.mentor).startswith("已取消，没有删除")
    assert _live(database) == ["聊选课"]


def test_delete_then_restore_within_a_day(app, phone, database, world):
    _record(phone, world, "交流 张三 昨天19:00 聊选课", "宣传 推文素材")
    with database.session() as session:
        year = session.get(AcademicYear, world.year_id)
        zone = app.extensions["settings"].zone
        assert len(list(record_facts(session, year, zone))) == 2
    phone.say(world.mentor, "删除 2")
    card = phone.last_card(world.mentor)
    _tap(phone, world.mentor, card, "删除")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已删除：") and "聊选课" in answer
    assert "24小时内发送“恢复”可以恢复" in answer
    assert _live(database) == ["推文素材"]
    with database.session() as session:  # the evidence leaves it out
        year = session.get(AcademicYear, world.year_id)
        assert len(list(record_facts(session, year, zone))) == 1
    _tap(phone, world.mentor, card, "删除")  # the same card again deletes nothing more
    assert "已经删除" in phone.last_text(world.mentor)

    phone.say(world.mentor, "恢复")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已恢复：") and "聊选课" in answer
    assert _live(database) == ["聊选课", "推文素材"]
    phone.say(world.mentor, "恢复")
    assert "没有可以恢复的记录" in phone.last_text(world.mentor)
    with database.session() as session:
        actions = session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.entity == "record")
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["create", "create", "delete", "restore"]


def test_several_deleted_are_listed_and_restored_by_number(phone, database, world):
    _record(
        phone, world, "交流 张三 昨天19:00 聊选课", "交流 李四 前天19:00 聊实习", "宣传 推文素材"
    )
    for _ in range(2):
        phone.say(world.mentor, "删除 1")
        _tap(phone, world.mentor, phone.last_card(world.mentor), "删除")
    phone.new(world.mentor)
    assert _live(database) == ["聊实习"]
    phone.say(world.mentor, "恢复")
    listing = phone.last_text(world.mentor)
    assert "1. " in listing and "2. " in listing and "恢复 1" in listing
    first = next(line for line in listing.splitlines() if line.startswith("1. "))
    assert "聊选课" in first  # the one deleted last comes first
    phone.say(world.mentor, "恢复 2")
    assert "推文素材" in phone.last_text(world.mentor)
    phone.say(world.mentor, "恢复 abc")
    assert "没有可以恢复的第 abc 条" in phone.last_text(world.mentor)
    assert sorted(_live(database)) == ["推文素材", "聊实习"]


def test_a_record_deleted_over_a_day_ago_cannot_be_restored(phone, database, world):
    _record(phone, world, "交流 张三 昨天19:00 聊选课")
    phone.say(world.mentor, "删除 1")
    _tap(phone, world.mentor, phone.last_card(world.mentor), "删除")
    with database.session() as session:
        record = session.scalars(sa.select(Record)).one()
        record.deleted_at = datetime.now(UTC) - timedelta(hours=25)
    phone.say(world.mentor, "恢复")
    assert "只能恢复24小时内删除的记录" in phone.last_text(world.mentor)
    assert _live(database) == []


def test_delete_says_how_to_write_a_number(phone, database, world):
    _record(phone, world, "交流 张三 昨天19:00 聊选课")
    phone.say(world.mentor, "删除 abc")
    assert phone.last_text(world.mentor) == (
        "“abc”不是记录编号。请写“记录”列表里的数字编号，例如：删除 1"
    )
    phone.say(world.mentor, "删除 7")
    assert "没有第 7 条记录" in phone.last_text(world.mentor)
    assert _live(database) == ["聊选课"]


def test_another_mentor_cannot_delete_with_a_forged_card(phone, database, world):
    _record(phone, world, "交流 张三 昨天19:00 聊选课")
    with database.session() as session:
        record_id = session.scalars(sa.select(Record.id)).one()
    card = {"task_id": "rec-delete-forged", "card_type": "button_interaction"}
    phone.tap(world.other_mentor, card, DELETE.pack(record_id, "delete"))
    assert "没有这条记录" in phone.last_text(world.other_mentor)
    assert _live(database) == ["聊选课"]
