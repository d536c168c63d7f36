"""结束考核 through signed callbacks: refused within the objection period (unless forced with
a reason) and while a mentor's result is incomplete (naming them, unless forced); a forced
closing records who closed, why, and with which mentors incomplete."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    ItemScore,
    Person,
    Role,
    Submission,
)
from bot.cycle import cycles, opening, submissions
from bot.cycle.cycles import Env
from bot.cycle.results import members, rubric_of, source_of
from bot.cycle.submissions import Scope
from bot.roster.holders import holders
from tests.cycle.test_journey import end_objection_period

ENV = Env("http://bot.example", ZoneInfo("Asia/Shanghai"))


def _scored(database, *, skip_college: str | None) -> int:
    """The 2025-2026 cycle opened, every item scored and submitted, except the college
    ``skip_college`` (by code), which is neither scored nor submitted; the cycle id."""
    now = datetime.now(UTC)
    with database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(session, year_code="2025-2026", actor=office, now=now, env=ENV)
        rubric = rubric_of(cycle)
        for member in members(session, cycle):
            for item in rubric.scored_items:
                source = source_of(rubric, item.id)
                if member.college.code == skip_college and source.value == "college":
                    continue
                session.add(
                    ItemScore(
                        cycle_id=cycle.id, mentor_id=member.person.id, item=item.id,
                        source=source, tenths=int(item.max * 10), given_by_id=office.id,
                        given_at=now,
                    )
                )  # fmt: skip
            session.add(
                Submission(
                    cycle_id=cycle.id, step="self", subject_id=member.person.id,
                    submitted_by_id=member.person.id, submitted_at=now,
                )
            )  # fmt: skip
        session.flush()
        submissions.submit(session, cycle, Scope("academy", None), actor=office, now=now)
        for college in cycles.colleges(session, cycle):
            if college.code == skip_college:
                continue
            admin = holders(session, Role.COLLEGE_ADMIN, unit_id=college.id)[0]
            scope = Scope(f"college-{college.id}", college.id)
            submissions.submit(session, cycle, scope, actor=admin, now=now)
        session.commit()
        return cycle.id


def _closing_audit(database) -> AuditEntry:
    with database.session() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "close")).one()
        session.expunge(entry)
        return entry


def _status(database, cycle_id: int) -> CycleStatus:
    with database.session() as session:
        return session.get(AssessmentCycle, cycle_id).status


def test_closing_names_incomplete_mentors_and_a_forced_closing_records_them(database, demo, phone):
    cycle_id = _scored(database, skip_college="DE")
    phone.say("shuyuan_admin", "公示 强制")
    phone.say("shuyuan_admin", "结束考核")
    answer = phone.last_text("shuyuan_admin")
    assert "异议期内不能结束考核" in answer and "结束考核 强制 原因" in answer
    phone.say("shuyuan_admin", "结束考核 强制")  # in the period a reason is needed
    assert "异议期内不能结束考核" in phone.last_text("shuyuan_admin")
    assert _status(database, cycle_id) == CycleStatus.PUBLISHED

    end_objection_period(database, cycle_id)
    phone.say("shuyuan_admin", "结束考核")
    answer = phone.last_text("shuyuan_admin")
    assert "还有 6 位导师结果未完成：刘芳（数字经济学院）" in answer
    assert "结束考核 强制" in answer
    assert _status(database, cycle_id) == CycleStatus.PUBLISHED

    phone.say("shuyuan_admin", "结束考核 强制")
    answer = phone.last_text("shuyuan_admin")
    assert "考核已结束" in answer
    assert "林晓雪强制结束，6 位导师结果未完成：刘芳（数字经济学院）" in answer
    assert _status(database, cycle_id) == CycleStatus.CLOSED
    entry = _closing_audit(database)
    with database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        assert entry.actor_id == office.id
    assert entry.after["forced"] is True and entry.after["early"] is False
    incomplete = entry.after["incomplete"]
    assert len(incomplete) == 6 and {m["college"] for m in incomplete} == {"数字经济学院"}
    assert "刘芳" in {m["name"] for m in incomplete}


def test_closing_early_needs_force_and_a_reason_which_is_recorded(database, demo, phone):
    cycle_id = _scored(database, skip_college=None)
    phone.say("shuyuan_admin", "公示")
    assert "已公示" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", "结束考核")
    assert "异议期内不能结束考核" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", "结束考核 强制 学校评优需提前确定结果")
    answer = phone.last_text("shuyuan_admin")
    assert "考核已结束" in answer and "原因：学校评优需提前确定结果" in answer
    assert "未完成" not in answer
    assert _status(database, cycle_id) == CycleStatus.CLOSED
    entry = _closing_audit(database)
    assert entry.after["early"] is True and entry.after["incomplete"] == []
    assert entry.after["reason"] == "学校评优需提前确定结果"


def test_a_complete_cycle_closes_after_the_objection_period(database, demo, phone):
    cycle_id = _scored(database, skip_college=None)
    phone.say("shuyuan_admin", "公示")
    end_objection_period(database, cycle_id)
    phone.say("shuyuan_admin", "结束考核")
    answer = phone.last_text("shuyuan_admin")
    assert "考核已结束" in answer and "强制" not in answer
    assert _closing_audit(database).after is None
