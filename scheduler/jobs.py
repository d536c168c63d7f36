"""The reminder jobs. Each is ``job(database, now, *, rules, **params) -> int`` and writes
outbox rows (through :func:`notify`), keyed per campaign, person and period, so a job that
runs twice, or in two processes, adds each message once. Each returns how many rows it added.
The outbox key holds only while the row is kept (``OUTBOX_KEEP_DAYS``), so a message that must
never repeat however long its condition lasts (an overdue step escalated to a college head)
is also recorded in a table of its own (:class:`bot.models.OverdueEscalation`).

Targets (from the regulation, see ``../shared/spec/assessment-rules.md``): at least 2 contacts
a week (M1); per semester at least 2 group activities (M2), 1 talk with the counsellor and 1
with the college's dean or vice dean (M3); monthly plans (B4); the college publishes at least
2 items a month (M6); the assessment calendar of an open cycle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot import outbox
from bot.calendar import (
    Rules,
    first_working_day_of_month,
    in_semester,
    is_working_day,
    month_bounds,
    next_allowed_moment,
    reminder_days,
)
from bot.cycle.service import ACADEMY_SUBJECT
from bot.db import Database, InsertIgnoringConflicts
from bot.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    MentorAssignment,
    OverdueEscalation,
    Person,
    Record,
    RecordKind,
    Role,
    Semester,
    Submission,
    TeachingWeek,
    Unit,
    UnitKind,
)
from bot.outbox import Message
from bot.records.flow import START_RECORD
from bot.records.service import current_year
from bot.roster.holders import holder_userids
from bot.wecom import cards

log = structlog.get_logger("scheduler.jobs")

MAX_NAMES = 60  # names listed in one message (text messages hold at most 2,048 bytes)
HOW_TO_LOG_CONTACT = (
    "点下方按钮即可记录；也可以点击菜单“记录 → 个别交流”，或直接发送“交流 学生姓名 内容”，"
    "例如：交流 张三 线上 聊选课。"
)


# --- shared helpers -----------------------------------------------------------------------


def notify(
    session: so.Session,
    userids: Iterable[str],
    message: Message,
    *,
    campaign: str,
    period: str,
    now: datetime,
    rules: Rules,
    urgent: bool = False,
) -> int:
    """Queue ``message`` for each of ``userids`` once per ``campaign`` and ``period``.

    A non-urgent message is held back to the next allowed moment (working day, outside quiet
    hours, off the full and half hour)."""
    available_at = now if urgent else next_allowed_moment(now, rules, salt=campaign)
    return outbox.enqueue(
        session,
        userids,
        message,
        key=f"{campaign}:{period}",
        now=now,
        available_at=available_at,
        urgent=urgent,
    )


def local_start(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=rules.zone)


def semesters_of(session: so.Session, year_id: int) -> list[Semester]:
    return list(
        session.scalars(
            sa.select(Semester).where(Semester.year_id == year_id).order_by(Semester.number)
        )
    )


@dataclass(frozen=True)
class Mentor:
    person_id: int
    userid: str
    name: str
    college_id: int


def mentors_of(session: so.Session, year_id: int) -> list[Mentor]:
    """The year's assigned mentors who are active, in a stable order."""
    rows = session.execute(
        sa.select(Person.id, Person.userid, Person.name, MentorAssignment.college_id)
        .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
        .where(MentorAssignment.year_id == year_id, Person.active.is_(True))
        .order_by(Person.id)
    )
    return [Mentor(*row) for row in rows]


def counts_by_mentor(
    session: so.Session,
    year_id: int,
    kinds: Sequence[RecordKind],
    start: datetime,
    end: datetime,
) -> dict[int, int]:
    """Live records of ``kinds`` per mentor with ``start <= occurred_at < end``: the same
    rule as ``bot.records.progress`` (我的), grouped in one query for every mentor. Callers
    pass ``end`` no later than now: what is recorded so far."""
    rows = session.execute(
        sa.select(Record.mentor_id, sa.func.count(Record.id))
        .where(
            Record.year_id == year_id,
            Record.kind.in_(kinds),
            Record.deleted_at.is_(None),
            Record.occurred_at >= start,
            Record.occurred_at < end,
        )
        .group_by(Record.mentor_id)
    )
    return {mentor_id: count for mentor_id, count in rows}


def _group_by_text(messages: dict[str, str]) -> dict[str, list[str]]:
    """userid → text, turned into text → userids (identical texts go out in one call)."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for userid, text in messages.items():
        grouped[text].append(userid)
    return grouped


def _send_texts(
    session: so.Session,
    messages: dict[str, str],
    *,
    campaign: str,
    period: str,
    now: datetime,
    rules: Rules,
) -> int:
    added = 0
    for text, userids in _group_by_text(messages).items():
        added += notify(
            session,
            userids,
            Message.text(text),
            campaign=campaign,
            period=period,
            now=now,
            rules=rules,
        )
    return added


# --- weekly contact check -----------------------------------------------------------------


def weekly_contact_check(
    database: Database, now: datetime, *, rules: Rules, minimum: int = 2
) -> int:
    """Friday: mentors with fewer than ``minimum`` contacts in this teaching week."""
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
        activities = counts_by_mentor(session, year.id, [RecordKind.GROUP_ACTIVITY], start, end)
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
        return _send_texts(
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


# --- assessment calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    audience: str  # "mentor" | "college" | "academy": who submits (Submission.subject_id)


# The steps of bot.cycle (AssessmentCycle.deadlines and Submission.step use these names); a
# deadline value is "YYYY-MM-DD" (or an ISO datetime, or {"due": "YYYY-MM-DD", "label": "…"}
# to rename the step in messages).
STEPS: dict[str, Step] = {
    "self": Step("提交自评与年度工作总结", "mentor"),
    "college": Step("学院评分并提交", "college"),
    "academy": Step("书院部 A 项评分并提交", "academy"),
}
HOW_TO_SELF_ASSESS = "请在企业微信中发送“我的考核”，打开自评页面并上传年度工作总结。"
HOW_TO_SCORE = "请发送“评分表”获取链接，上传评分表后发送“提交评分”。"


def parse_deadline(value: Any, zone: Any) -> tuple[date, str | None] | None:
    """A deadlines value → (the due day, a label override); None if unreadable."""
    label = None
    if isinstance(value, dict):
        label = value.get("label")
        value = value.get("due")
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value), label
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.date(), label


def opening_days(year_end: date, prompt_days: Sequence[str]) -> list[date]:
    """For each ``MM-DD`` in ``prompt_days``, the first working day on or after it in the
    year's last days (never after ``year_end``, the academic year's 31 August)."""
    days = []
    for text in prompt_days:
        month, day = (int(part) for part in text.split("-"))
        moment = date(year_end.year, month, day)
        while moment <= year_end and not is_working_day(moment):
            moment += timedelta(days=1)
        if moment <= year_end:
            days.append(moment)
    return days


def assessment_opening(
    database: Database,
    now: datetime,
    *,
    rules: Rules,
    prompt_days: Sequence[str] = ("08-20", "08-27"),
) -> int:
    """The cycle opens at the end of August: on the first working day on or after each of
    ``prompt_days``, the academy office is asked to open the assessment of the academic year
    that is ending, unless it is open already (or was opened and closed)."""
    today = rules.today(now)
    with database.session() as session:
        year = current_year(session, today)
        if year is None or today not in opening_days(year.ends_on, prompt_days):
            return 0
        opened = session.scalar(
            sa.select(sa.func.count())
            .select_from(AssessmentCycle)
            .where(AssessmentCycle.year_id == year.id)
        )
        if opened:
            return 0
        text = (
            f"【考核开启提醒】{year.code}学年将于{year.ends_on.month}月{year.ends_on.day}日结束，"
            f"导师年度考核应在8月底开启。请发送“开启考核 {year.code} 自评 日期 学院 日期 书院部 "
            f"日期”（例如：开启考核 {year.code} 自评 {year.ends_on.year}-09-05 学院 "
            f"{year.ends_on.year}-09-10 书院部 {year.ends_on.year}-09-12），"
            "开启后全体导师、各学院管理员和书院部会收到通知。"
        )
        return notify(
            session,
            holder_userids(session, Role.ACADEMY_ADMIN),
            Message.text(text),
            campaign="assessment_opening",
            period=f"{year.code}-{today.isoformat()}",
            now=now,
            rules=rules,
        )


def assessment_calendar(
    database: Database, now: datetime, *, rules: Rules, days_before: Sequence[int] = (3, 1)
) -> int:
    """Open cycles, on working days: reminders ``days_before`` each deadline (moved to the
    working day before a day off) to those who have not submitted; once overdue, the late
    are reminded every working day and their college head (the academy's head for the
    office) is told once who is late. Runs in vacations too (the cycle opens in August)."""
    today = rules.today(now)
    if not is_working_day(today):
        return 0
    added = 0
    with database.session() as session:
        cycles = session.scalars(
            sa.select(AssessmentCycle)
            .where(AssessmentCycle.status == CycleStatus.OPEN)
            .order_by(AssessmentCycle.id)
        ).all()
        for cycle in cycles:
            for name, value in sorted((cycle.deadlines or {}).items()):
                step = STEPS.get(name)
                parsed = parse_deadline(value, rules.zone)
                if step is None or parsed is None:
                    log.warning("assessment_deadline_ignored", cycle=cycle.id, step=name)
                    continue
                due, label = parsed
                step = Step(label or step.label, step.audience)
                added += _deadline_step(session, cycle, name, step, due, days_before, now, rules)
    return added


def _deadline_step(
    session: so.Session,
    cycle: AssessmentCycle,
    name: str,
    step: Step,
    due: date,
    days_before: Sequence[int],
    now: datetime,
    rules: Rules,
) -> int:
    today = rules.today(now)
    how = HOW_TO_SELF_ASSESS if step.audience == "mentor" else HOW_TO_SCORE
    pending = _pending(session, cycle, name, step)
    userids = sorted({userid for _, userid, _ in pending})
    if today > due:
        late = (
            f"【考核逾期】{cycle.year.code}学年导师考核“{step.label}”已于 "
            f"{due.month}月{due.day}日 截止，您尚未完成。{how}"
        )
        reminded = notify(
            session, userids, Message.text(late), campaign="assessment_late",
            period=f"{cycle.id}-{name}-{today.isoformat()}", now=now, rules=rules,
        )  # fmt: skip
        return reminded + _escalate(session, cycle, name, step, due, pending, now, rules)
    offsets = [offset for offset, day in reminder_days(due, days_before).items() if day == today]
    if not offsets:
        return 0
    left = (due - today).days
    text = (
        f"【考核提醒】{cycle.year.code}学年导师考核：“{step.label}”将于 "
        f"{due.month}月{due.day}日 截止，还有 {left} 天。{how}已完成的请忽略。"
    )
    return notify(
        session,
        userids,
        Message.text(text),
        campaign="assessment",
        period=f"{cycle.id}-{name}-d{offsets[0]}",
        now=now,
        rules=rules,
    )


def _pending(
    session: so.Session, cycle: AssessmentCycle, name: str, step: Step
) -> list[tuple[int, str, int]]:
    """(unit id to escalate to, userid to remind, subject id) of those who have not
    submitted ``name``: a mentor's unit is the college that assesses them."""
    done = set(
        session.scalars(
            sa.select(Submission.subject_id).where(
                Submission.cycle_id == cycle.id, Submission.step == name
            )
        )
    )
    if step.audience == "mentor":
        return [
            (m.college_id, m.userid, m.person_id)
            for m in mentors_of(session, cycle.year_id)
            if m.person_id not in done
        ]
    if step.audience == "academy":
        academy = session.scalar(sa.select(Unit).where(Unit.kind == UnitKind.ACADEMY))
        if ACADEMY_SUBJECT in done or academy is None:
            return []
        return [
            (academy.id, userid, ACADEMY_SUBJECT)
            for userid in holder_userids(session, Role.ACADEMY_ADMIN)
        ]
    colleges = session.scalars(
        sa.select(Unit)
        .join(MentorAssignment, MentorAssignment.college_id == Unit.id)
        .where(MentorAssignment.year_id == cycle.year_id)
        .distinct()
        .order_by(Unit.id)
    )
    return [
        (unit.id, userid, unit.id)
        for unit in colleges
        if unit.id not in done
        for userid in holder_userids(session, Role.COLLEGE_ADMIN, unit_id=unit.id)
    ]


def _escalate(
    session: so.Session,
    cycle: AssessmentCycle,
    name: str,
    step: Step,
    due: date,
    pending: list[tuple[int, str, int]],
    now: datetime,
    rules: Rules,
) -> int:
    """Overdue: each college head (the academy's head for the office) hears once which of
    their people are late: once per cycle, step and unit, recorded in ``overdue_escalation``
    with the message, so neither a second run nor the outbox pruning brings it again. A unit
    without an active head is not recorded: it is escalated once it has one."""
    if not pending:
        return 0
    late_by_unit: dict[int, set[int]] = defaultdict(set)
    for unit_id, _, subject in pending:
        late_by_unit[unit_id].add(subject)
    added = 0
    for unit_id, subjects in sorted(late_by_unit.items()):
        unit = session.get(Unit, unit_id)
        if unit is None:
            continue
        heads = (
            holder_userids(session, Role.COLLEGE_HEAD, unit_id=unit.id)
            if unit.kind == UnitKind.COLLEGE
            else []
        )
        if not heads and unit.head is not None and unit.head.active:
            heads = [unit.head.userid]
        if not heads or not _first_escalation(session, cycle.id, name, unit.id, now):
            continue
        if step.audience == "mentor":
            names = session.scalars(
                sa.select(Person.name).where(Person.id.in_(subjects)).order_by(Person.name)
            ).all()
            shown = "、".join(names[:MAX_NAMES]) + (" 等" if len(names) > MAX_NAMES else "")
            who = f"以下 {len(names)} 位导师尚未完成：{shown}"
        else:
            who = f"{unit.name}尚未完成"
        text = (
            f"【考核逾期】{cycle.year.code}学年导师考核“{step.label}”已于 "
            f"{due.month}月{due.day}日 截止，{who}。请督促尽快完成。"
        )
        added += notify(
            session,
            heads,
            Message.text(text),
            campaign="assessment_overdue",
            period=f"{cycle.id}-{name}-{unit.id}",
            now=now,
            rules=rules,
        )
    return added


_INSERT_ESCALATION = InsertIgnoringConflicts(
    OverdueEscalation.__table__,
    ("cycle_id", "step", "unit_id"),
    {
        "cycle_id": sa.bindparam("cycle_id"),
        "step": sa.bindparam("step"),
        "unit_id": sa.bindparam("unit_id"),
        "escalated_at": sa.bindparam("escalated_at"),
    },
)


def _first_escalation(
    session: so.Session, cycle_id: int, step: str, unit_id: int, now: datetime
) -> bool:
    """Record the escalation of ``step`` to ``unit_id``'s head in the caller's transaction;
    False when it was made before (or another open transaction making it commits)."""
    inserted = _INSERT_ESCALATION.execute(
        session, {"cycle_id": cycle_id, "step": step, "unit_id": unit_id, "escalated_at": now}
    )
    return inserted.first() is not None
