"""Hostile or mangled input through signed callbacks: ids out of range, card keys with missing
or malformed fields, odd digits, non-finite numbers. Each gets its Chinese answer, never the
generic apology (which means a handler raised)."""

from __future__ import annotations

import sqlalchemy as sa

from bot.chat.router import STALE_CARD
from bot.chat.webhook import FAILED
from bot.core.echo import echo
from bot.core.models import OutboxMessage, Record
from handlers.record_list import NO_SUCH_RECORD

HUGE = "99999999999999999999999"
CARD = {"task_id": "task-1", "card_type": "button_interaction"}


def _texts(phone, userid: str) -> list[str]:
    return [
        m[m["msgtype"]]["content"]
        for m in phone.new(userid)
        if m["msgtype"] in ("text", "markdown")
    ]


def _apologies(database) -> int:
    with database.session() as session:
        rows = session.scalars(sa.select(OutboxMessage)).all()
        return sum(1 for row in rows if row.payload.get("text", {}).get("content") == FAILED)


def _record_of(phone, database, userid: str) -> int:
    phone.say(userid, "交流 张三 线上 聊选课")
    phone.new(userid)
    with database.session() as session:
        return session.scalars(sa.select(Record.id).order_by(Record.id.desc())).first()


def test_view_of_an_id_out_of_range_is_not_found(phone, world, database):
    phone.say(world.mentor, f"查看 #{HUGE}")
    assert _texts(phone, world.mentor) == [NO_SUCH_RECORD]
    assert _apologies(database) == 0


def test_view_of_odd_digits_is_not_found(phone, world, database):
    phone.say(world.mentor, "查看 #²")  # str.isdigit() says yes, int() says no
    assert _texts(phone, world.mentor) == [NO_SUCH_RECORD]
    phone.say(world.mentor, "查看 ²")
    assert _texts(phone, world.mentor) == ["没有第 ² 条记录。发送“记录”查看编号。"]
    assert _apologies(database) == 0


def test_missing_and_not_yours_get_the_same_answer(phone, world, database):
    record_id = _record_of(phone, database, world.mentor)
    phone.say(world.other_mentor, f"查看 #{record_id}")
    not_yours = _texts(phone, world.other_mentor)
    phone.say(world.other_mentor, f"查看 #{record_id + 1000}")
    missing = _texts(phone, world.other_mentor)
    assert not_yours == missing == [NO_SUCH_RECORD]


def test_a_care_record_of_someone_else_looks_missing_too(phone, world, database):
    phone.say(world.mentor, "关爱 张三 近况与跟进安排")
    phone.new(world.mentor)
    with database.session() as session:
        care_id = session.scalars(sa.select(Record.id)).one()
    phone.say(world.other_mentor, f"查看 #{care_id}")
    assert _texts(phone, world.other_mentor) == [NO_SUCH_RECORD]


def test_a_rating_tap_with_an_id_out_of_range_is_a_stale_card(phone, world, database):
    phone.tap(world.student, CARD, "rate:99999999999999999999:5")
    assert _texts(phone, world.student) == [STALE_CARD]
    phone.tap(world.student, CARD, "rate:1:²")
    assert _texts(phone, world.student) == [STALE_CARD]
    assert _apologies(database) == 0


def test_card_taps_without_their_fields_are_stale_cards(phone, world, database):
    for key in ("rec_who", "rec_who:", "rec_pick:abc", "cycle_submit", "help", "rate:1:2:3"):
        phone.tap(world.mentor, CARD, key)
        assert _texts(phone, world.mentor) == [STALE_CARD], key
    assert _apologies(database) == 0


def test_a_submit_card_for_a_college_out_of_range_is_stale(phone, world, database):
    phone.tap(world.college_admin, CARD, "cycle_submit:1:college-99999999999999999999")
    assert _texts(phone, world.college_admin) == [STALE_CARD]
    assert _apologies(database) == 0


def test_numbers_with_odd_digits_in_commands(phone, world, database):
    phone.say(world.mentor, "删除 ²")
    assert _texts(phone, world.mentor) == ["没有第 ² 条记录。发送“记录”查看编号。"]
    phone.say(world.mentor, "月计划")  # the flow asks for the month
    phone.new(world.mentor)
    phone.say(world.mentor, "²")
    assert _texts(phone, world.mentor)[-1].startswith("没有看懂这个月份")
    phone.say(world.mentor, "１１月")  # full-width digits are read
    assert not _texts(phone, world.mentor)[-1].startswith("没有看懂这个月份")
    assert _apologies(database) == 0


def test_a_long_number_is_not_a_record_number(phone, world, database):
    phone.say(world.mentor, "查看 " + "9" * 5000)  # more digits than int() converts
    [answer] = _texts(phone, world.mentor)
    assert answer.startswith("没有第 ")
    assert _apologies(database) == 0


def test_office_commands_with_ids_and_scores_out_of_range(phone, world, database):
    phone.say(world.academy_admin, f"答复 {HUGE} 已核实")
    assert FAILED not in _texts(phone, world.academy_admin)
    phone.say(world.academy_admin, f"更正 #{HUGE} B4 4.5 已核实")
    assert _texts(phone, world.academy_admin) == [f"找不到异议或导师“{echo('#' + HUGE)}”。"]
    for value in ("NaN", "sNaN", "Infinity", "-inf", "1e999999999"):
        phone.say(world.academy_admin, f"更正 {world.mentor.upper()} B4 {value} 已核实")
        [answer] = _texts(phone, world.academy_admin)
        assert answer.startswith(f"“{value}”不是分数"), answer
    phone.say(world.academy_admin, "开启考核 2025-2026 自评 99999999999999999999-1-1")
    [answer] = _texts(phone, world.academy_admin)
    assert answer.startswith(f"“{echo('99999999999999999999-1-1')}”不是日期")
    assert _apologies(database) == 0
