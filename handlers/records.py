"""记录 by quick text: ``交流 张三 李四 线上 聊选课``, ``活动 读书沙龙 11月20日19:00 图书馆
参加：张三、李四、王五``, ``沟通 辅导员 …``, ``关爱 张三 …``, ``宣传 …``, ``书院 …``, ``资源 …``,
``月计划 …``. A complete record is saved at once; unclear names, a missing care note or a past
day written without a time (asked as 几点, never a silent noon) continue in the guided flow
(``handlers.record_flow``) with the rest filled in; a command word alone starts that flow.
Only mentors with students this academic year may record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from bot.chat.context import Context, Reply
from bot.chat.router import Router
from bot.core.models import RecordKind
from bot.records.dates import DateError, When, check_moment
from bot.records.flow import FLOW, TALK, Flow, new_flow, spec_for, with_note
from bot.records.names import NameMatch, Outcome, match_name
from bot.records.quick import COMMANDS, QuickRecord, QuickTextError, correct_form, parse_quick
from bot.records.service import is_any_student_name
from bot.wecom.messages import TextMessage
from handlers.record_flow import advance, start_flow
from handlers.record_scope import Scope, for_mentors, problem

router = Router("records")


@router.on_command(*COMMANDS)
@for_mentors
def record_quick(message: TextMessage, ctx: Context, scope: Scope) -> Reply | None:
    """``交流 张三 李四 线上 聊选课`` and the other record commands; alone, a guided flow."""
    words = message.content.split()
    kind = COMMANDS[words[0]]
    state = ctx.conversation
    state.clear(FLOW)
    if len(words) == 1:
        return start_flow(ctx, scope, kind or TALK)
    today = ctx.local_now.date()
    try:
        quick = parse_quick(
            message.content,
            today=today,
            year_start=scope.year.starts_on,
            year_end=scope.year.ends_on,
            is_name=lambda word: _is_name(ctx, scope, word),
        )
        moment = (quick.when or When(today)).moment(ctx.zone, ctx.now)
        check_moment(moment, ctx.now, scope.year.starts_on, scope.year.ends_on)
    except (QuickTextError, DateError) as exc:
        reason = str(exc)  # what is wrong; then how to write it, unless it says so already
        if "例如" in reason:
            return Reply.text(reason)
        return Reply.text(f"{reason}\n没有保存。{correct_form(message.content)}")
    matches = [match_name(name, scope.students) for name in quick.names]
    flow = _flow_from_quick(quick, moment, matches)
    if _asks_hour(quick, today) and "time" in spec_for(flow).steps:
        # a past day without a time: the flow asks the hour (the rest is kept), never noon
        flow = replace(flow, at=None, needs_hour=True)
    # a care note sealed before the flow can reach Redis
    flow = with_note(flow, quick.note, ctx.settings.CARE_NOTES_KEY)
    if quick.kind == RecordKind.CARE and len(flow.student_ids) > 1:
        return Reply.text("一条关爱记录只记一位学生，请分开记录。")
    return advance(ctx, scope, flow)


def _asks_hour(quick: QuickRecord, today: date) -> bool:
    """A day other than today was written without a time of day."""
    return quick.when is not None and quick.when.at is None and quick.when.day != today


def _is_name(ctx: Context, scope: Scope, word: str) -> bool:
    if match_name(word, scope.students).outcome != Outcome.UNKNOWN:
        return True
    return is_any_student_name(ctx.session, word)


def _flow_from_quick(quick: QuickRecord, moment: datetime, matches: list[NameMatch]) -> Flow:
    """The flow of a quick text: complete but for the names that matched none or several of
    the mentor's students (and a care note not given)."""
    found = [m.student.id for m in matches if m.outcome == Outcome.FOUND]
    candidates: list[int] = []
    if all(m.outcome != Outcome.UNKNOWN for m in matches):  # else the whole roster is shown
        candidates = [s.id for m in matches if m.outcome == Outcome.AMBIGUOUS for s in m.candidates]
    return new_flow(
        quick.kind.value,
        day=moment.date().isoformat(),
        at=moment.strftime("%H:%M"),
        place=quick.place,
        online=quick.online,
        place_done=True,
        note_done=quick.note is not None or quick.kind != RecordKind.CARE,
        title=quick.title,
        quick=True,
        students_done=True,  # quick text names its participants; none is none
        student_ids=tuple(dict.fromkeys(found)),
        problems=tuple(problem(m) for m in matches if m.outcome != Outcome.FOUND),
        candidate_ids=tuple(candidates),
    )
