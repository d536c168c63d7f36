"""No figure shown to a mentor lets them work out the satisfaction of an activity with fewer
ratings than the anonymity threshold (assessment-rules.md, decisions of 2026-12): the mentor
tries the subtraction with everything they are shown (我的, the result card, the result page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.models import AcademicYear, Person, Rating, Record, RecordKind
from bot.devtools.demo_roster import DEMO_YEAR
from bot.records.progress import progress, progress_text
from scoring import load_rubric
from scoring.engine import satisfaction_hidden
from tests.cycle.conftest import END_OF_YEAR, Browser
from tests.cycle.test_stored_results import PUBLISHED_AT, _cycle, _run

ZONE = ZoneInfo("Asia/Shanghai")
MENTOR = "wanglaoshi"
PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")


def _rate_two_activities(database) -> None:
    """The mentor's year: one activity rated 5, 5, 5 (100%, shown) and one rated once, 2
    (0%, below the threshold: never to be known); no other ratings."""
    with database.session() as session:
        mentor = session.scalar(sa.select(Person).where(Person.userid == MENTOR))
        year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == DEMO_YEAR))
        mine = sa.select(Record.id).where(Record.mentor_id == mentor.id)
        session.execute(sa.delete(Rating).where(Rating.record_id.in_(mine)))
        shown, hidden = session.scalars(
            sa.select(Record)
            .where(
                Record.mentor_id == mentor.id,
                Record.year_id == year.id,
                Record.kind == RecordKind.GROUP_ACTIVITY,
                Record.deleted_at.is_(None),
            )
            .order_by(Record.id)
            .limit(2)
        ).all()
        students = [p.student_id for p in shown.participants]
        assert len(students) >= 3
        at = datetime(2026, 6, 1, tzinfo=UTC)
        for student in students[:3]:
            session.add(Rating(record_id=shown.id, student_id=student, level=5, created_at=at))
        one = hidden.participants[0].student_id
        session.add(Rating(record_id=hidden.id, student_id=one, level=2, created_at=at))
        session.commit()


def test_the_mentor_cannot_subtract_an_activity_below_the_threshold(app, database, demo, phone):
    _rate_two_activities(database)
    with database.session() as session:
        cycle = _run(session, DEMO_YEAR, PUBLISHED_AT, close=False)
        session.commit()
        cycle_id = cycle.id
        mentor = session.scalar(sa.select(Person).where(Person.userid == MENTOR))
        year = _cycle(session).year
        mine = progress(session, mentor_id=mentor.id, year=year, now=END_OF_YEAR, zone=ZONE)
        page_text = progress_text(mine, mentor.name)
    # 我的: the one activity with 3 ratings, 100%
    assert (mine.ratings.activities, mine.ratings.satisfaction) == (1, Decimal("100.0"))
    assert "1 项活动，平均满意度 100.0%" in page_text

    phone.say(MENTOR, "我的考核")
    card = phone.last_card(MENTOR)
    fields = {f["keyname"]: f.get("value", "") for f in card["horizontal_content_list"]}
    result_page = Browser(app, MENTOR).get(f"/m/cycle/{cycle_id}/me")
    assert result_page.status_code == 200

    # the subtraction: any annual percentage x over the 2 rated activities, less the 100% of
    # the one shown, would give the other: 2x − 100
    # (the rubric's bands, 各档：90–100%：…, are policy, and 完成度 N% is an evidence figure)
    page = re.sub(r"各档：[^<]*|完成度 [0-9.]+%", "", result_page.text)
    shown_elsewhere = PERCENT.findall(fields["学生满意度"]) + PERCENT.findall(
        re.sub(r"<[^>]+>", "", page)
    )
    assert "满意度得 5 分（部分活动评价人数不足，不显示百分比）" in result_page.text
    for x in shown_elsewhere:
        assert Decimal(x) * 2 - 100 != 0, f"{x}% gives the hidden activity away"
    assert fields["学生满意度"] == "5 分（部分活动评价人数不足，不显示百分比）"
    assert "部分活动评价人数不足，不显示百分比" in result_page.text


def test_the_annual_percentage_is_shown_when_every_rated_activity_reaches_the_threshold():
    rubric = load_rubric()
    assert satisfaction_hidden(((5, 5, 5), (4, 2, 1)), rubric) is False
    assert satisfaction_hidden(((5, 5, 5), (2,)), rubric) is True
    assert satisfaction_hidden(((5, 5, 5), ()), rubric) is False  # unrated: not in the mean
    assert satisfaction_hidden(((5, 5),), rubric) is True  # alone, it is the mean itself
