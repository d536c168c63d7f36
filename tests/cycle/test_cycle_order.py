"""The cycle in the regulation's order, through signed callbacks: a year opens only once it has
ended (from 20 August), its deadlines come self-assessment → colleges → academy → 公示, and the
office confirms the plan on a card before anyone is told."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    MentorAssignment,
    MentorStudent,
    Person,
    Record,
    RecordKind,
    RecordParticipant,
    Submission,
)


def _cycles(database) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count(AssessmentCycle.id))) or 0


def open_confirmed(phone, text: str = "开启考核 2025-2026") -> dict:
    """Send ``text`` as the office and tap 确认开启 on the plan card; the card."""
    phone.say("shuyuan_admin", text)
    card = phone.last_card("shuyuan_admin")
    phone.tap("shuyuan_admin", card, card["button_list"][0]["key"])
    return card


def test_a_year_that_has_not_ended_is_refused_with_the_day_it_may_open(database, demo, phone):
    with database.session() as session:
        session.add(
            AcademicYear(code="2098-2099", starts_on=date(2098, 9, 1), ends_on=date(2099, 8, 31))
        )
        session.commit()
    phone.say("shuyuan_admin", "开启考核 2098-2099")
    answer = phone.last_text("shuyuan_admin")
    assert "2098-2099 学年还没有结束（8月31日结束）" in answer
    assert "最早可在 2099年8月20日开启" in answer
    assert _cycles(database) == 0


def test_deadlines_out_of_order_are_refused_naming_the_step(database, demo, phone):
    phone.say("shuyuan_admin", "开启考核 2025-2026 自评 2099-09-10 学院 2099-09-07")
    answer = phone.last_text("shuyuan_admin")
    assert "学院评分的日期 2099-09-07 早于导师自评与年度总结的截止日期 2099-09-10" in answer
    assert "导师自评 → 学院评分 → 书院部评分 → 公示" in answer
    phone.say("shuyuan_admin", "开启考核 2025-2026 学院 2099-09-10 书院部 2099-09-09")
    assert "书院部评分的日期 2099-09-09 早于学院评分" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", "开启考核 2025-2026 书院部 2099-09-12 公示 2099-09-11")
    assert "公示的日期 2099-09-11 早于书院部评分" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", "开启考核 2025-2026 自评 2099-09-20")  # the defaults follow it
    card = phone.last_card("shuyuan_admin")
    assert "学院评分：9月20日前" in card["sub_title_text"]
    assert _cycles(database) == 0


def test_opening_shows_the_plan_and_waits_for_confirmation(database, demo, phone):
    text = "开启考核 2025-2026 自评 2099-09-05 学院 2099-09-10 书院部 2099-09-12 公示 2099-09-15"
    phone.say("shuyuan_admin", text)
    card = phone.last_card("shuyuan_admin")
    assert card["main_title"]["title"] == "开启 2025-2026 学年导师考核？"
    assert "20 位导师" in card["main_title"]["desc"]
    plan = card["sub_title_text"]
    assert "导师自评与年度总结：9月5日前" in plan and "书院部评分：9月12日前" in plan
    assert "公示：9月15日" in plan
    assert [b["text"] for b in card["button_list"]] == ["确认开启", "取消"]
    assert _cycles(database) == 0
    assert not phone.new("wanglaoshi")  # nobody is told before the tap

    phone.tap("shuyuan_admin", card, card["button_list"][1]["key"])
    assert "已取消，没有开启" in phone.last_text("shuyuan_admin")
    assert _cycles(database) == 0

    phone.tap("shuyuan_admin", card, card["button_list"][0]["key"])
    assert "已开启 2025-2026 学年考核" in phone.last_text("shuyuan_admin")
    with database.session() as session:
        cycle = session.scalars(sa.select(AssessmentCycle)).one()
        assert cycle.deadlines == {
            "self": "2099-09-05", "college": "2099-09-10", "academy": "2099-09-12",
            "publish": "2099-09-15",
        }  # fmt: skip
        assert session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "open")
        )
    assert "考核已开启" in str(phone.new("wanglaoshi"))
    phone.tap("shuyuan_admin", card, card["button_list"][0]["key"])  # a second tap
    assert "已经开启过了" in phone.last_text("shuyuan_admin")
    assert _cycles(database) == 1
    phone.tap("zhangsan", card, card["button_list"][0]["key"])
    assert "只有书院部管理员" in phone.last_text("zhangsan")


def _august_contact(database) -> str:
    """王建国 talked with one of his students on 20 August; that student's userid."""
    zone = ZoneInfo("Asia/Shanghai")
    with database.session() as session:
        mentor = session.scalar(sa.select(Person).where(Person.userid == "wanglaoshi"))
        year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == "2025-2026"))
        student = session.scalars(
            sa.select(Person)
            .join(MentorStudent, MentorStudent.student_id == Person.id)
            .join(MentorAssignment, MentorAssignment.id == MentorStudent.assignment_id)
            .where(MentorAssignment.mentor_id == mentor.id, MentorAssignment.year_id == year.id)
        ).first()
        at = datetime(2026, 8, 20, 15, 0, tzinfo=zone)
        record = Record(
            year_id=year.id, mentor_id=mentor.id, kind=RecordKind.CONTACT, title="",
            occurred_at=at, created_at=at, updated_at=at,
        )  # fmt: skip
        record.participants = [RecordParticipant(student_id=student.id)]
        session.add(record)
        session.commit()
        return student.userid


def test_august_guidance_cards_go_out_at_opening_and_hold_publication(database, demo, phone):
    student = _august_contact(database)
    phone.new(student)
    open_confirmed(phone)
    cards = [p["template_card"] for p in phone.new(student) if p["msgtype"] == "template_card"]
    assert any("8月个别指导" in str(card) and "王建国" in str(card) for card in cards), cards

    phone.say("shuyuan_admin", "进度")
    progress = phone.last_text("shuyuan_admin")
    assert "学生对“8月个别指导”的评价尚未截止" in progress
    phone.say("shuyuan_admin", "公示")
    refusal = phone.last_text("shuyuan_admin")
    assert "学生对“8月个别指导”的评价尚未截止" in refusal and "公示 强制" in refusal
    with database.session() as session:
        assert session.scalars(sa.select(AssessmentCycle)).one().status == CycleStatus.OPEN
    phone.say("shuyuan_admin", "公示 强制")
    assert "已公示" in phone.last_text("shuyuan_admin")
    with database.session() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "publish")).one()
        assert any("8月个别指导" in line for line in entry.after["open_windows"])
        assert len(entry.after["missing_self"]) == 20


def test_publication_waits_for_self_assessments_and_says_whose(database, demo, phone):
    open_confirmed(phone)
    with database.session() as session:
        cycle = session.scalars(sa.select(AssessmentCycle)).one()
        mentors = session.scalars(
            sa.select(Person).join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
        ).all()
        for mentor in mentors:
            if mentor.userid != "wanglaoshi":
                session.add(
                    Submission(
                        cycle_id=cycle.id, step="self", subject_id=mentor.id,
                        submitted_by_id=mentor.id, submitted_at=datetime.now(ZoneInfo("UTC")),
                    )
                )  # fmt: skip
        session.commit()
    phone.say("shuyuan_admin", "进度")
    assert "导师自评：19/20 位已提交；尚未提交：王建国\n" in phone.last_text("shuyuan_admin")
    phone.say("cs_admin", "进度")
    mine = phone.last_text("cs_admin")
    assert "本学院导师自评：6/7 位已提交；尚未提交：王建国" in mine
    phone.say("shuyuan_admin", "公示")
    refusal = phone.last_text("shuyuan_admin")
    assert "尚未提交自评的导师：王建国\n" in refusal and "公示 强制" in refusal
