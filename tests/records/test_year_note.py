"""Once last year's assessment has closed, a new record's confirmation says which year it
counts for (the year it belongs to), through signed callbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from bot.core.models import AcademicYear, AssessmentCycle, CycleStatus


def _last_year_cycle(database, world, status: CycleStatus) -> tuple[str, str]:
    """The year before the world's, with its cycle in ``status``; (last, this) year codes."""
    with database.session() as session:
        this = session.get(AcademicYear, world.year_id)
        first = this.starts_on.year - 1
        last = AcademicYear(
            code=f"{first}-{first + 1}",
            starts_on=date(first, 9, 1),
            ends_on=date(first + 1, 8, 31),
        )
        session.add(last)
        session.flush()
        now = datetime.now(UTC)
        session.add(
            AssessmentCycle(
                year_id=last.id, status=status, rubric="2021", opened_at=now,
                closed_at=now if status == CycleStatus.CLOSED else None,
            )
        )  # fmt: skip
        session.commit()
        return last.code, this.code


def test_without_another_years_cycle_nothing_is_added(phone, database, world):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    assert "学年考核" not in phone.last_text(world.mentor)


def test_after_last_years_cycle_closed_a_record_says_its_year(phone, database, world):
    last, this = _last_year_cycle(database, world, CycleStatus.CLOSED)
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已记录个别交流（计入考核指标")
    assert f"本条记录计入 {this} 学年考核（{last} 学年考核已结束）。" in answer
    phone.say(world.mentor, "活动 读书沙龙 昨天19:00 图书馆 参加：张三")
    assert f"本条记录计入 {this} 学年考核" in phone.last_text(world.mentor)
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(AssessmentCycle.id))) == 1


def test_during_last_years_publication_too(phone, database, world):
    last, _this = _last_year_cycle(database, world, CycleStatus.PUBLISHED)
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    assert f"（{last} 学年考核正在公示）" in phone.last_text(world.mentor)
