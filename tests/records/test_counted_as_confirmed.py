"""What a mentor is told a record counts for is exactly what the evidence counts it for
(issue 18 §5): each record is made through a signed callback, and the items its confirmation
names are the items whose evidence figures gained that record."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.core.models import AcademicYear, Record, TeachingWeek
from bot.core.models import Semester as SemesterRow
from bot.cycle.evidence import figures
from scoring import load_rubric

RUBRIC = load_rubric()
COUNTED = re.compile(r"（计入考核指标 ([^；）]*)")


def _teach_every_week(database, year_id: int) -> None:
    """Every week of both semesters is a teaching week (Monday to Sunday)."""
    with database.session() as session:
        for semester in session.scalars(
            sa.select(SemesterRow).where(SemesterRow.year_id == year_id)
        ):
            monday = semester.starts_on - timedelta(days=semester.starts_on.weekday())
            number = 1
            while monday <= semester.ends_on:
                start = max(monday, semester.starts_on)
                end = min(monday + timedelta(days=6), semester.ends_on)
                week = TeachingWeek(semester_id=semester.id, number=number)
                week.starts_on, week.ends_on = start, end
                session.add(week)
                monday += timedelta(days=7)
                number += 1
        session.commit()


def _counted(database, world, zone: ZoneInfo) -> dict[str, int]:
    """Records counted per item in the mentor's evidence figures (the whole year)."""
    mentor_id = world.ids[world.mentor]
    with database.session() as session:
        year = session.get(AcademicYear, world.year_id)
        found = figures(session, year, RUBRIC, zone, [mentor_id])[mentor_id]
        return {item.item: sum(r.records for r in item.requirements) for item in found.items}


CASES = [
    ("交流 张三 线上 聊考研还是就业", ("M1", "M7")),
    ("交流 张三 图书馆 聊选课", ("M1",)),
    ("活动 读书沙龙 昨天19:00 线上 参加：张三", ("M5",)),
    ("活动 读书沙龙 昨天19:00 图书馆 参加：张三", ("M2", "M5")),
    ("活动 茶话会 昨天19:00 线上 参加：张三", ()),
    ("活动 学科竞赛辅导 昨天19:00 实验室 参加：张三", ("M2", "E1")),
    ("活动 简历工作坊 昨天19:00 线上 参加：张三", ("M7",)),
    ("活动 导师制论文发表 昨天19:00 线上 参加：张三", ("E2",)),
    ("资源 邀请企业工程师来校", ("A3",)),
    ("宣传 读书沙龙推文素材", ("M6",)),
    ("沟通 辅导员 今天 了解学生近况", ("M3",)),
]


@pytest.mark.parametrize(("text", "items"), CASES, ids=[c[0] for c in CASES])
def test_the_confirmation_names_exactly_what_the_evidence_counts(
    phone, database, world, text, items
):
    zone = phone.app.extensions["settings"].zone
    _teach_every_week(database, world.year_id)
    before = _counted(database, world, zone)
    phone.say(world.mentor, text)
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已记录"), answer
    match = COUNTED.search(answer)
    assert match, answer
    told = () if match.group(1) == "无" else tuple(match.group(1).split("、"))
    after = _counted(database, world, zone)
    gained = tuple(item for item in after if after[item] > before.get(item, 0))
    assert told == items
    assert gained == items


def test_an_online_activity_is_told_why_it_misses_the_offline_item(phone, database, world):
    phone.say(world.mentor, "活动 读书沙龙 昨天19:00 线上 参加：张三")
    answer = phone.last_text(world.mentor)
    assert answer.startswith("已记录集体活动（计入考核指标 M5；线上活动不计入 M2（须线下））")


def test_an_online_activity_is_no_offline_activity_for_my_progress_or_the_mid_semester_check(
    phone, database, world
):
    from datetime import UTC, datetime

    from bot.core.models import RecordKind
    from bot.reminders import counts_by_mentor

    phone.say(world.mentor, "活动 读书沙龙 昨天19:00 线上 参加：张三")
    phone.say(world.mentor, "活动 茶话会 昨天19:00 图书馆 参加：张三")
    phone.new(world.mentor)
    phone.say(world.mentor, "我的")
    assert '本学期线下集体活动：<font color="warning">1</font> / 2' in phone.last_text(world.mentor)
    with database.session() as session:
        year = session.get(AcademicYear, world.year_id)
        start = datetime.combine(year.starts_on, datetime.min.time(), tzinfo=UTC)
        now = datetime.now(UTC)
        kinds = [RecordKind.GROUP_ACTIVITY]
        every = counts_by_mentor(session, year.id, kinds, start, now)
        offline = counts_by_mentor(session, year.id, kinds, start, now, offline=True)
    assert (every[world.ids[world.mentor]], offline[world.ids[world.mentor]]) == (2, 1)


def test_changing_a_contact_s_content_changes_what_it_counts_for(phone, database, world):
    phone.say(world.mentor, "交流 张三 图书馆 聊选课")
    assert phone.last_text(world.mentor).startswith("已记录个别交流（计入考核指标 M1）")
    phone.say(world.mentor, "修改 1 内容 聊考研的准备")
    assert phone.last_text(world.mentor).startswith("已修改第 1 条的内容")
    phone.say(world.mentor, "查看 1")
    assert "个别交流（M1、M7）" in phone.last_text(world.mentor)
    with database.session() as session:
        record = session.scalar(sa.select(Record))
        assert record.activity_type == "考研"
