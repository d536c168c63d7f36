"""Where a cycle stands (进度): each scope's submissions and the self-assessments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    Person,
    ScoreSource,
    Submission,
)
from bot.cycle import access
from bot.cycle.cycles import ACADEMY_SUBJECT, colleges
from bot.cycle.results import (
    Member,
    academy_item_ids,
    college_item_ids,
    members,
    rubric_of,
    saved_scores,
)


@dataclass(frozen=True)
class ScopeProgress:
    title: str
    step: str
    mentors: int
    complete: int  # mentors with every required score of this scope
    submitted: bool
    deadline: str | None


def progress(
    session: so.Session, cycle: AssessmentCycle, college_ids: set[int] | None = None
) -> list[ScopeProgress]:
    """Per college (all, or those given) and for the office: scored, submitted, deadline."""
    rubric = rubric_of(cycle)
    people = members(session, cycle)
    saved = saved_scores(session, cycle)
    done = {
        (s.step, s.subject_id)
        for s in session.scalars(sa.select(Submission).where(Submission.cycle_id == cycle.id))
    }
    college_items = [i for i in college_item_ids(rubric) if rubric.role_of(i) == "college"]
    academy_items = academy_item_ids(rubric)

    def complete(group: list, items: list[str], source: ScoreSource) -> int:
        return sum(all((m.person.id, i, source) in saved for i in items) for m in group)

    rows = []
    for college in colleges(session, cycle):
        if college_ids is not None and college.id not in college_ids:
            continue
        group = [m for m in people if m.college.id == college.id]
        rows.append(
            ScopeProgress(
                college.name, "college", len(group),
                complete(group, college_items, ScoreSource.COLLEGE),
                ("college", college.id) in done, cycle.deadlines.get("college"),
            )
        )  # fmt: skip
    rows.append(
        ScopeProgress(
            "书院部", "academy", len(people),
            complete(people, academy_items, ScoreSource.ACADEMY),
            ("academy", ACADEMY_SUBJECT) in done, cycle.deadlines.get("academy"),
        )
    )  # fmt: skip
    return rows


def has_self_assessed(session: so.Session, cycle: AssessmentCycle, mentor_id: int) -> bool:
    return (
        session.scalar(
            sa.select(Submission.id).where(
                Submission.cycle_id == cycle.id,
                Submission.step == "self",
                Submission.subject_id == mentor_id,
            )
        )
        is not None
    )


def self_progress(session: so.Session, cycle: AssessmentCycle) -> tuple[int, int]:
    """(mentors who submitted their self-assessment, mentors)."""
    people = members(session, cycle)
    done = session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.cycle_id == cycle.id, Submission.step == "self"
        )
    )
    return done or 0, len(people)


def missing_self(
    session: so.Session, cycle: AssessmentCycle, college_ids: set[int] | None = None
) -> list[Member]:
    """Mentors (of all colleges, or those given) who have not submitted their self-assessment."""
    done = set(
        session.scalars(
            sa.select(Submission.subject_id).where(
                Submission.cycle_id == cycle.id, Submission.step == "self"
            )
        )
    )
    return [
        m
        for m in members(session, cycle)
        if m.person.id not in done and (college_ids is None or m.college.id in college_ids)
    ]


def named(people: list[Member], limit: int = 10) -> str:
    """``王建国、李娜 等 19 位`` (at most ``limit`` names)."""
    shown = "、".join(m.person.name for m in people[:limit])
    return shown + (f" 等 {len(people)} 位" if len(people) > limit else "")


def progress_text(
    session: so.Session,
    cycle: AssessmentCycle,
    person: Person | None,
    today: date,
    notes: list[str] | None = None,
) -> str:
    """The office's view (``person`` None: the command line), or a college admin's: each
    step with who is missing; whether 公示 can be sent only while the cycle is open.
    ``notes``: further lines for the office (the open rating windows)."""
    office = person is None or access.is_office(person)
    own = None if office or person is None else access.admin_college_ids(person)
    rows = progress(session, cycle, own)
    if not office:
        rows = [r for r in rows if r.step == "college"]
    status = {
        CycleStatus.OPEN: "评分中",
        CycleStatus.PUBLISHED: "公示中",
        CycleStatus.CLOSED: "已结束",
    }
    lines = [f"{cycle.year.code} 学年导师考核进度（{status[cycle.status]}）"]
    total = len(members(session, cycle, None)) if office else None
    lacking_self = missing_self(session, cycle, own)
    mentors = total if total is not None else sum(r.mentors for r in rows)
    done_self = mentors - len(lacking_self)
    who = "导师自评" if office else "本学院导师自评"
    lines.append(
        f"· {who}：{done_self}/{mentors} 位已提交"
        + (f"；尚未提交：{named(lacking_self)}" if lacking_self else "")
    )
    for row in rows:
        state = "已提交" if row.submitted else f"已评 {row.complete}/{row.mentors} 位，未提交"
        late = (
            "，已逾期"
            if not row.submitted and row.deadline and date.fromisoformat(row.deadline) < today
            else ""
        )
        lines.append(f"· {row.title}：{state}{late}")
    if not office:
        return "\n".join(lines)
    missing = [r.title for r in rows if not r.submitted]
    if cycle.status == CycleStatus.OPEN:
        lines.extend(notes or [])
        if missing:
            lines.append("尚未提交评分：" + "、".join(missing))
        if missing or lacking_self or notes:
            lines.append("发送“公示”将列出缺少的部分；确需先公示，请发送“公示 强制”。")
        else:
            lines.append("全部已提交，可以发送“公示”。")
    elif cycle.status == CycleStatus.PUBLISHED:
        if missing:
            lines.append(
                "逾期未提交评分："
                + "、".join(missing)
                + "。书院部可在该学院的评分页上传其评分表补录。"
            )
        lines.append("已公示；异议期结束、异议答复完毕后发送“结束考核”。")
    return "\n".join(lines)
