"""The records' reminders (scheduled in ``scheduler/schedule.toml``; see :mod:`bot.reminders`).

Targets (from the regulation, see ``../shared/spec/assessment-rules.md``): at least 2 contacts
a week (M1); per semester at least 2 group activities (M2), 1 talk with the counsellor and 1
with the college's dean or vice dean (M3); monthly plans (B4); the college publishes at least
2 items a month (M6).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from bot.calendar import (
    Rules,
    first_working_day_of_month,
    in_semester,
    is_working_day,
    month_bounds,
)
from bot.core.db import Database
from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    Record,
    RecordKind,
    Role,
    Semester,
    TeachingWeek,
    Unit,
    UnitKind,
)
from bot.core.rubrics import rubric_for_year
from bot.outbox.queue import Message
from bot.records.flow import START_RECORD
from bot.records.service import current_year
from bot.reminders import (
    counts_by_mentor,
    local_start,
    mentors_of,
    notify,
    semesters_of,
    send_texts,
)
from bot.roster.holders import holder_userids
from bot.wecom import cards

log = structlog.get_logger("bot.records.reminders")

HOW_TO_LOG_CONTACT = (
    "点下方按钮即可记录；也可以点击菜单“记录 → 个别交流”，或直接发送“交流 学生姓名 内容”，"
    "例如：交流 张三 线上 聊选课。"
)


# --- weekly contact check -----------------------------------------------------------------


def weekly_contact_check(
    database: Database, now: datetime, *, rules: Rules, minimum: int = 2
) -> int:
    """Friday: mentors with fewer than ``minimum`` contacts in this teaching week; nothing in a
    week with fewer working days than the rubric's ``[periods]`` need for it to count."""
    today = rules.today(now)
    if not is_working_day(today):
        return 0
    with database.session() as session:
        found = session.execute(
            sa.select(TeachingWeek, Semester, AcademicYear)
            .join(Semester, TeachingWeek.semester_id == Semester.id)
            .join(AcademicYear, Semester.year_id == AcademicYear.id)
            .where(TeachingWeek.starts_on <= today, TeachingWeek.ends_on >= today)
        ).first()
        if found is None:  # vacation, or a week off within the semester
            return 0
        week, semester, year = found
        length = (week.ends_on - week.starts_on).days + 1
        working = sum(is_working_day(week.starts_on + timedelta(days=n)) for n in range(length))
        if working < rubric_for_year(session, year.id).periods.week_teaching_days:
            return 0  # a week shortened by public holidays does not count toward the target
        monday = today - timedelta(days=today.weekday())  # the week 我的 counts
        counts = counts_by_mentor(
            session,
            year.id,
            [RecordKind.CONTACT],
            local_start(monday, rules),
            min(local_start(monday + timedelta(days=7), rules), now),
        )
        by_count: dict[int, list[str]] = defaultdict(list)
        for mentor in mentors_of(session, year.id):
            done = counts.get(mentor.person_id, 0)
            if done < minimum:
                by_count[done].append(mentor.userid)
        period = f"{year.code}-{semester.number}-{week.number}"
        added = 0
        for done, userids in sorted(by_count.items()):
            card = weekly_contact_card(week.number, done, minimum, f"weekly-{period}-{done}")
            added += notify(
                session, userids, Message.template_card(card), campaign="weekly_contact",
                period=period, now=now, rules=rules,
            )  # fmt: skip
        return added


def weekly_contact_text(week_number: int, done: int, minimum: int) -> str:
    return (
        f"本周（第{week_number}教学周）您已记录与学生个别交流 {done} 次，"
        f"按要求每周至少 {minimum} 次，还差 {minimum - done} 次。"
    )


def weekly_contact_card(week_number: int, done: int, minimum: int, task_id: str) -> dict[str, Any]:
    """The reminder with a one-tap way to log: the button starts the guided contact flow."""
    return cards.button_interaction(
        "【每周交流提醒】",
        task_id=task_id,
        desc=weekly_contact_text(week_number, done, minimum),
        sub_title=HOW_TO_LOG_CONTACT,
        buttons=[
            cards.Button(START_RECORD.pack(RecordKind.CONTACT.value), "记录个别交流", style=1)
        ],
    )


# --- mid-semester check -------------------------------------------------------------------


def mid_semester_check(
    database: Database,
    now: datetime,
    *,
    rules: Rules,
    fraction: float = 0.5,
    group_activities: int = 2,
    window_days: int = 14,
) -> int:
    """From the teaching week at ``fraction`` of the semester (for ``window_days``): mentors
    short of group activities or of the counsellor / college-leader talk, once a semester."""
    today = rules.today(now)
    if not is_working_day(today):
        return 0
    with database.session() as session:
        semester = session.scalar(
            sa.select(Semester).where(Semester.starts_on <= today, Semester.ends_on >= today)
        )
        if semester is None or not semester.teaching_weeks:
            return 0
        weeks = semester.teaching_weeks
        middle = weeks[max(0, math.ceil(len(weeks) * fraction) - 1)]
        if not middle.starts_on <= today < middle.starts_on + timedelta(days=window_days):
            return 0
        year = semester.year
        start = local_start(semester.starts_on, rules)
        end = min(local_start(semester.ends_on + timedelta(days=1), rules), now)
        rubric = rubric_for_year(session, year.id)
        own = rubric.records.kinds.get(RecordKind.GROUP_ACTIVITY, ())
        offline = any(item in rubric.records.offline_only for item in own)  # 线下集体活动
        activities = counts_by_mentor(
            session, year.id, [RecordKind.GROUP_ACTIVITY], start, end, offline=offline
        )
        counsellor = counts_by_mentor(session, year.id, [RecordKind.COUNSELLOR_TALK], start, end)
        leader = counts_by_mentor(session, year.id, [RecordKind.LEADER_TALK], start, end)
        messages = {}
        for mentor in mentors_of(session, year.id):
            missing = []
            done = activities.get(mentor.person_id, 0)
            if done < group_activities:
                missing.append(f"线下集体活动已记录 {done} 次，本学期至少 {group_activities} 次")
            if not counsellor.get(mentor.person_id):
                missing.append("尚未记录与学生辅导员的沟通（本学期至少 1 次）")
            if not leader.get(mentor.person_id):
                missing.append("尚未记录与学院院长或副院长的交流（本学期至少 1 次）")
            if missing:
                messages[mentor.userid] = mid_semester_text(missing)
        return send_texts(
            session,
            messages,
            campaign="mid_semester",
            period=f"{year.code}-{semester.number}",
            now=now,
            rules=rules,
        )


def mid_semester_text(missing: list[str]) -> str:
    lines = "\n".join(f"· {item}" for item in missing)
    return (
        f"【学期过半提醒】本学期已过半，您的工作记录中：\n{lines}\n"
        "活动或沟通后请及时登记：发送“活动 名称 …”或“沟通 辅导员 …”，"
        "也可点击应用菜单“记录”。"
    )


# --- monthly plan -------------------------------------------------------------------------


def reminder_day_in_term(
    first: date, last: date, semesters: Sequence[tuple[date, date]]
) -> date | None:
    """The first working day from ``first`` to ``last`` that lies in a semester."""
    day = first
    while day <= last:
        if is_working_day(day) and in_semester(day, semesters):
            return day
        day += timedelta(days=1)
    return None


def monthly_plan_reminder(database: Database, now: datetime, *, rules: Rules) -> int:
    """The first working day of the month (in term): mentors without this month's plan."""
    today = rules.today(now)
    month_first, next_first = month_bounds(today)
    if today < first_working_day_of_month(today.year, today.month):
        return 0
    with database.session() as session:
        year = current_year(session, today)
        if year is None:
            return 0
        terms = [(s.starts_on, s.ends_on) for s in semesters_of(session, year.id)]
        day = reminder_day_in_term(month_first, next_first - timedelta(days=1), terms)
        if day != today:
            return 0
        plans = counts_by_mentor(
            session,
            year.id,
            [RecordKind.MONTHLY_PLAN],
            local_start(month_first, rules),
            min(local_start(next_first, rules), now),
        )
        userids = [m.userid for m in mentors_of(session, year.id) if not plans.get(m.person_id)]
        text = (
            f"【月度计划提醒】{today.month}月的工作开始了，请提交本月指导计划：发送“计划 内容”"
            "登记要点，或发送“上传”上传计划文件。已提交的请忽略。"
        )
        return notify(
            session,
            userids,
            Message.text(text),
            campaign="monthly_plan",
            period=f"{today:%Y-%m}",
            now=now,
            rules=rules,
        )


# --- college publicity --------------------------------------------------------------------


def college_publicity(database: Database, now: datetime, *, rules: Rules, minimum: int = 2) -> int:
    """The month's last week (first working day of its last seven days, in term): college
    administrators of colleges with fewer than ``minimum`` publicity items this month."""
    today = rules.today(now)
    month_first, next_first = month_bounds(today)
    last_week = next_first - timedelta(days=7)
    if today < last_week:
        return 0
    with database.session() as session:
        year = current_year(session, today)
        if year is None:
            return 0
        terms = [(s.starts_on, s.ends_on) for s in semesters_of(session, year.id)]
        if reminder_day_in_term(last_week, next_first - timedelta(days=1), terms) != today:
            return 0
        rows = session.execute(
            sa.select(MentorAssignment.college_id, sa.func.count(Record.id))
            .join(
                MentorAssignment,
                sa.and_(
                    MentorAssignment.mentor_id == Record.mentor_id,
                    MentorAssignment.year_id == Record.year_id,
                ),
            )
            .where(
                Record.year_id == year.id,
                Record.kind == RecordKind.PUBLICITY,
                Record.deleted_at.is_(None),
                Record.occurred_at >= local_start(month_first, rules),
                Record.occurred_at < min(local_start(next_first, rules), now),
            )
            .group_by(MentorAssignment.college_id)
        )
        published = {college_id: count for college_id, count in rows}
        colleges = session.scalars(
            sa.select(Unit).where(Unit.kind == UnitKind.COLLEGE).order_by(Unit.id)
        )
        added = 0
        for college in colleges:
            done = published.get(college.id, 0)
            if done >= minimum:
                continue
            text = (
                f"【宣传提醒】{college.name}本月已登记导师工作宣传 {done} 条，"
                f"按要求每月至少发布 {minimum} 条，本月还剩最后一周。"
                "请联系导师提供素材（导师可发送“宣传 标题 …”登记）。"
            )
            added += notify(
                session,
                holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college.id),
                Message.text(text),
                campaign="college_publicity",
                period=f"{today:%Y-%m}-{college.code}",
                now=now,
                rules=rules,
            )
        return added
