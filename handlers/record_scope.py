"""Who may record, and their conversation state: shared by the record handlers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.chat.context import Context, Reply
from bot.chat.router import for_roles
from bot.core.echo import echo
from bot.core.models import ROLE_NAMES, AcademicYear, MentorAssignment, Role
from bot.records.flow import FLOW, LAST_RECORD, Flow, Situation
from bot.records.names import NameMatch, Outcome, Student, match_name
from bot.records.service import assignment_for, current_year, roster
from bot.wecom.messages import Message

M = TypeVar("M", bound=Message)


@dataclass
class Scope:
    """A mentor's academic year, assignment and students."""

    year: AcademicYear
    assignment: MentorAssignment
    students: list[Student]


def mentor_scope(ctx: Context) -> Scope | Reply:
    """The mentor's scope, or the refusal to send instead."""
    if not ctx.has_role(Role.MENTOR):
        held = "、".join(ROLE_NAMES[grant.role] for grant in ctx.person.roles) or "未分配"
        return Reply.text(
            f"只有异科导师可以记录工作台账（您的身份：{held}）。发送“帮助”查看您可以做什么。"
        )
    year = current_year(ctx.session, ctx.local_now.date())
    if year is None:
        return Reply.text(
            f"今天不在已设置的学年内，暂时无法记录。请联系{ctx.settings.SUPPORT_CONTACT}。"
        )
    assignment = assignment_for(ctx.session, ctx.person.id, year.id)
    if assignment is None:
        return Reply.text(f"您在 {year.code} 学年还没有分配学生，暂时无法记录。请联系学院管理员。")
    return Scope(year, assignment, roster(ctx.session, assignment))


def situation(ctx: Context, scope: Scope) -> Situation:
    """What the record conversation needs to know of this callback and this mentor."""
    return Situation(
        now=ctx.now,
        zone=ctx.zone,
        year_starts=scope.year.starts_on,
        year_ends=scope.year.ends_on,
        students=tuple(scope.students),
        base_url=ctx.settings.PUBLIC_BASE_URL,
        care_key=ctx.settings.CARE_NOTES_KEY,
    )


def for_mentors(
    handler: Callable[[M, Context, Scope], Reply | None],
) -> Callable[[M, Context], Reply | None]:
    """A handler for mentors with students this year, called with their :class:`Scope`;
    anyone else gets :func:`mentor_scope`'s refusal and the handler does not run."""

    @functools.wraps(handler)
    def checked(message: M, ctx: Context) -> Reply | None:
        scope = mentor_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        return handler(message, ctx, scope)

    return for_roles(Role.MENTOR)(checked)


def open_flow(ctx: Context) -> Flow | None:
    """The person's open (not expired) flow, for other features (photos)."""
    return ctx.conversation.get(FLOW, now=ctx.now)


def keep_flow(ctx: Context, flow: Flow) -> None:
    ctx.conversation.put(FLOW, flow, now=ctx.now)


def last_record_id(ctx: Context) -> int | None:
    last = ctx.conversation.get(LAST_RECORD, now=ctx.now)
    return None if last is None else last.record_id


def problem(match: NameMatch) -> str:
    """What to tell the mentor about a name that matched none or several of their students."""
    if match.outcome == Outcome.AMBIGUOUS:
        names = "、".join(student.name for student in match.candidates)
        return f"“{echo(match.query)}”可能是：{names}，请勾选"
    return f"在您本学年的学生中没有找到“{echo(match.query)}”，请在名单中勾选"


def student_ids_named(ctx: Context, scope: Scope, names: list[str]) -> list[int] | str:
    """Resolve names among the mentor's own students, or say which one could not be."""
    ids = []
    for name in names:
        match = match_name(name, scope.students)
        if match.outcome != Outcome.FOUND:
            return problem(match).removesuffix("，请勾选").removesuffix("，请在名单中勾选")
        ids.append(match.student.id)
    return ids
