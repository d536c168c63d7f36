"""帮助 for each role names every command that role may use (derived from the routers), with
examples that work on the current data; a student tapping 我的考核 is not told how to open one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.core.models import AcademicYear, AssessmentCycle, Role
from handlers import build_dispatcher
from handlers.cycle import MENU_MY_ASSESSMENT
from tests.factories import add_person
from tests.records.conftest import Phone, build_world, year_around


@pytest.fixture
def phone(app, client, database) -> Phone:
    return Phone(app, client, database)


@pytest.fixture
def people(database) -> dict[Role, str]:
    world = build_world(database)
    with database.session() as session:
        add_person(session, "fudaoyuan", "辅导员甲", Role.COUNSELLOR)
        add_person(session, "dean", "院长甲", Role.COLLEGE_HEAD)
        add_person(session, "unithead", "主任甲", Role.UNIT_HEAD)
        add_person(session, "sysadmin", "系统管理员甲", Role.SYSTEM_ADMIN)
        add_person(session, "hr", "人事甲", Role.HR)
        add_person(session, "jiaowu", "教务甲", Role.ACADEMIC_AFFAIRS)
    return {
        Role.MENTOR: world.mentor,
        Role.STUDENT: world.student,
        Role.COLLEGE_ADMIN: world.college_admin,
        Role.ACADEMY_ADMIN: world.academy_admin,
        Role.COUNSELLOR: "fudaoyuan",
        Role.COLLEGE_HEAD: "dean",
        Role.UNIT_HEAD: "unithead",
        Role.SYSTEM_ADMIN: "sysadmin",
        Role.HR: "hr",
        Role.ACADEMIC_AFFAIRS: "jiaowu",
    }


def _help(phone: Phone, userid: str) -> str:
    phone.new(userid)
    phone.say(userid, "帮助")
    texts = [m["text"]["content"] for m in phone.new(userid) if m["msgtype"] == "text"]
    assert texts
    return "\n".join(texts)


@pytest.mark.parametrize("role", list(Role))
def test_help_names_every_command_the_role_may_use(phone, people, role):
    commands = build_dispatcher().commands_for(role)
    assert "帮助" in commands
    text = _help(phone, people[role])
    missing = [word for word in commands if f"“{word}" not in text]
    assert not missing, f"{role}: help does not name {missing}\n{text}"


def test_the_office_has_all_its_commands_and_others_do_not_get_them(phone, people):
    office = build_dispatcher().commands_for(Role.ACADEMY_ADMIN)
    for word in ("开启考核", "进度", "评分表", "提交评分", "公示", "答复", "更正", "结束考核"):
        assert word in office
    assert {"导出", "导出评价"} <= set(office)
    assert "开启考核" not in build_dispatcher().commands_for(Role.MENTOR)
    assert "开启考核" not in _help(phone, people[Role.MENTOR])
    assert "开启考核" not in _help(phone, people[Role.STUDENT])


def test_the_office_example_opens_the_year_that_has_ended(phone, people, database):
    this_year = datetime.now(UTC).date()
    code, starts, ends = year_around(this_year - timedelta(days=365))
    with database.session() as session:  # last year's calendar: the year that may be opened
        session.add(AcademicYear(code=code, starts_on=starts, ends_on=ends))
        session.commit()
    text = _help(phone, people[Role.ACADEMY_ADMIN])
    line = next(line for line in text.splitlines() if "开启考核" in line)
    example = line.split("“", 1)[1].split("”", 1)[0]  # “开启考核 2026-2027”
    office = people[Role.ACADEMY_ADMIN]
    phone.say(office, example)
    answer = phone.new(office)

    def opened(messages) -> bool:
        return any(
            "已开启" in m[m["msgtype"]]["content"]
            for m in messages
            if m["msgtype"] in ("text", "markdown")
        )

    cards = [m["template_card"] for m in answer if m["msgtype"] == "template_card"]
    if not opened(answer) and cards and cards[-1].get("button_list"):  # a summary to confirm
        phone.tap(office, cards[-1], cards[-1]["button_list"][0]["key"])
        answer = phone.new(office)
    assert opened(answer), answer
    with database.session() as session:
        opened = session.scalars(sa.select(AssessmentCycle)).one()
        assert opened.year.code == example.split()[1] == code


def test_mentor_help_uses_their_students_and_names_assessment_and_objections(phone, people):
    text = _help(phone, people[Role.MENTOR])
    assert "“我的考核" in text and "“异议" in text and "提出异议" in text
    assert "“交流 周松 线上 聊选课" in text or "“交流 李四 线上 聊选课" in text
    assert "11月20日" not in text  # no fixed date that may lie in the future


def test_a_student_tapping_my_assessment_is_not_told_how_the_office_opens_one(phone, people):
    phone.menu(people[Role.STUDENT], MENU_MY_ASSESSMENT)
    answer = phone.last_text(people[Role.STUDENT])
    assert "导师" in answer and "开启考核" not in answer


def test_a_mentor_before_any_cycle_is_told_it_is_not_open(phone, people):
    phone.say(people[Role.MENTOR], "我的考核")
    answer = phone.last_text(people[Role.MENTOR])
    assert "还没有开启" in answer and "开启考核" not in answer


def test_with_no_year_ended_the_office_example_names_when_it_may_be_opened(phone, people):
    """The demo (and a new installation) holds only the current year: the example names it
    and the day it may be opened, the day opening itself names, never a year with no calendar."""
    today = datetime.now(UTC).date()
    code, _starts, ends = year_around(today)
    if today >= ends.replace(month=8, day=20):
        pytest.skip("from 20 August the current year may be opened")
    text = _help(phone, people[Role.ACADEMY_ADMIN])
    line = next(line for line in text.splitlines() if "开启考核" in line)
    assert f"“开启考核 {code}”" in line
    assert f"{ends.year}年8月20日起" in line
    phone.say(people[Role.ACADEMY_ADMIN], f"开启考核 {code}")
    refusal = phone.last_text(people[Role.ACADEMY_ADMIN])
    assert "还没有结束" in refusal and f"{ends.year}年8月20日" in refusal
    assert "没有" not in refusal.split("还没有结束")[0]  # not “没有 … 学年的校历”
    office = people[Role.ACADEMY_ADMIN]  # the welcome card's 使用示例: nothing refused today
    assert phone.post_xml(phone.envelope(office).event("enter_agent")).status_code == 200
    card = phone.last_card(office)
    phone.tap(office, card, next(b["key"] for b in card["button_list"] if b["text"] == "使用示例"))
    examples = phone.last_text(office)
    assert "· 进度" in examples and "开启考核" not in examples


def test_open_without_a_year_names_the_year_that_may_be_opened(phone, people, database):
    office = people[Role.ACADEMY_ADMIN]
    this_year = datetime.now(UTC).date()
    code, starts, ends = year_around(this_year - timedelta(days=365))
    with database.session() as session:
        session.add(AcademicYear(code=code, starts_on=starts, ends_on=ends))
        session.commit()
    phone.new(office)
    phone.say(office, "结束考核")  # no cycle yet: no year named that may not exist
    refused = phone.last_text(office)
    assert "还没有开启的考核" in refused and "帮助" in refused
    assert not re.search(r"\d{4}-\d{4}", refused)
    phone.say(office, "开启考核")
    usage = phone.last_text(office)
    assert f"例如：开启考核 {code}\n" in usage  # last year's, whose calendar is there
    example = usage.split("按此顺序）：", 1)[1]
    phone.say(office, example)  # the example with its deadlines is accepted: a plan to confirm
    card = phone.last_card(office)
    assert [b["text"] for b in card["button_list"]] == ["确认开启", "取消"]
