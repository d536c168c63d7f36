"""The evidence figures read from the database follow the decisions of 2026-12: the 线上 flag
comes with each record, a career contact counts for M7, and a year whose cycle is looked at
before it ends counts only the periods ended so far, saying so."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.models import AcademicYear, Person, Record, RecordKind
from bot.cycle.evidence import figures, record_facts
from bot.devtools.demo_roster import DEMO_YEAR
from scoring import load_rubric

ZONE = ZoneInfo("Asia/Shanghai")
RUBRIC = load_rubric()


def _year_and_mentor(session) -> tuple[AcademicYear, int]:
    year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == DEMO_YEAR))
    mentor = session.scalar(sa.select(Person.id).where(Person.userid == "wanglaoshi"))
    return year, mentor


def test_the_online_flag_and_the_contact_topic_reach_the_fold(database, demo):
    with database.session() as session:
        year, mentor = _year_and_mentor(session)
        stored = {
            (r.kind.value, r.activity_type, r.online)
            for r in session.scalars(
                sa.select(Record).where(Record.mentor_id == mentor, Record.deleted_at.is_(None))
            )
        }
        facts = {
            (f.kind, f.activity, f.online)
            for f in record_facts(session, year, ZONE)
            if f[0] == mentor
        }
    assert facts == stored
    assert any(kind == "contact" and online is True for kind, _topic, online in facts)
    assert any(kind == RecordKind.CONTACT and topic == "考研" for kind, topic, _ in facts)


def test_a_year_looked_at_before_it_ends_counts_the_periods_so_far(database, demo):
    with database.session() as session:
        year, mentor = _year_and_mentor(session)
        whole = figures(session, year, RUBRIC, ZONE, [mentor])[mentor]
        early = figures(
            session, year, RUBRIC, ZONE, [mentor], now=datetime(2026, 1, 5, 9, tzinfo=ZONE)
        )[mentor]
    m1_whole, m1_early = whole.item("M1").requirements[0], early.item("M1").requirements[0]
    assert 0 < m1_early.periods < m1_whole.periods
    assert m1_early.summary.endswith("（学年未结束，只计 1月5日前已结束的周期）")
    assert "学年未结束" not in m1_whole.summary
    # no semester has ended on 5 January: the semester targets wait, and say why
    m2 = early.item("M2")
    assert m2.suggested is None
    assert m2.requirements[0].summary == "每学期线下集体活动：1月5日前尚无已结束的学期"
    # the career contacts count for M7 (the demo's 考研咨询, 简历修改, 实习求职, 学业规划)
    assert whole.item("M7").requirements[0].records > 0


def test_the_college_workbook_shows_competitions_beside_the_bonus_not_as_m4(database, demo):
    import io
    from datetime import UTC

    from openpyxl import load_workbook

    from bot.core.models import Unit
    from bot.cycle import opening, submissions
    from bot.cycle.cycles import Env
    from bot.cycle.submissions import Scope

    env = Env("http://bot.example", ZONE)
    stamp = datetime(2026, 8, 31, 12, tzinfo=UTC)
    with database.session() as session:
        year, mentor = _year_and_mentor(session)
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(session, year_code=DEMO_YEAR, actor=office, now=stamp, env=env)
        without = figures(session, year, RUBRIC, ZONE, [mentor])[mentor]
        for title, day in (("指导学生参加学科竞赛", 10), ("学科竞赛校赛辅导", 11)):
            session.add(
                Record(
                    year_id=year.id, mentor_id=mentor, kind=RecordKind.GROUP_ACTIVITY,
                    activity_type=RUBRIC.activity_type(title), title=title,
                    occurred_at=datetime(2026, 5, day, 19, tzinfo=ZONE), online=False,
                    created_at=stamp, updated_at=stamp,
                )
            )  # fmt: skip
        session.flush()
        before = figures(session, year, RUBRIC, ZONE, [mentor])[mentor]
        cs = session.scalar(sa.select(Unit).where(Unit.code == "CS"))
        _name, content = submissions.build_workbook(
            session, cycle, Scope(f"college-{cs.id}", cs.id), env
        )
        session.rollback()
    sheet = load_workbook(io.BytesIO(content)).active
    headers = {sheet.cell(3, c).value: c for c in range(1, sheet.max_column + 1)}
    row = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 2).value == "王建国")
    e1 = before.item("E1").requirements[0]
    assert e1.records == without.item("E1").requirements[0].records + 2
    assert sheet.cell(row, headers["E1 记录情况"]).value == e1.summary
    assert e1.summary.startswith("学科竞赛记录：全年")
    assert sheet.cell(row, headers["E1 建议分"]).value is None  # 是/否 is the college's call
    m4 = before.item("M4").requirements[0]
    assert m4.records == without.item("M4").requirements[0].records  # never M4
    assert sheet.cell(row, headers["M4 记录情况"]).value == m4.summary
