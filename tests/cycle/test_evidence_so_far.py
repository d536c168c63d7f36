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
