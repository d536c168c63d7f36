"""记录 by quick text: ``交流 张三 李四 线上 聊选课``, ``活动 读书沙龙 11月20日19:00 图书馆
参加：张三、李四、王五``, ``沟通 辅导员 …``, ``关爱 张三 …``, ``宣传 …``, ``书院 …``, ``资源 …``,
``月计划 …``. A complete record is saved at once; unclear names or a missing care note continue
in the guided flow (``handlers.record_flow``); a command word alone starts that flow.
Only mentors with students this academic year may record.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bot.context import Context, Reply
from bot.models import RecordKind
from bot.records.dates import DateError, When, check_moment
from bot.records.flow import FLOW, STEPS, TALK, Flow
from bot.records.names import Outcome, match_name
from bot.records.quick import COMMANDS, QuickRecord, QuickTextError, parse_quick
from bot.records.service import is_any_student_name
from bot.router import Router
from handlers.record_flow import advance, start_flow
from handlers.record_scope import Scope, conversation, mentor_scope, problem

router = Router("records")


@router.on_command(*COMMANDS)
def record_quick(message: Any, ctx: Context) -> Reply | None:
    """``交流 张三 李四 线上 聊选课`` and the other record commands; alone, a guided flow."""
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    words = message.content.split()
    kind = COMMANDS[words[0]]
    state = conversation(ctx)
    state.clear(FLOW)
    if len(words) == 1:
        if kind in STEPS or kind is None:
            return start_flow(ctx, scope, kind or TALK)
        return Reply.text(_EXAMPLES[kind])
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
        return Reply.text(str(exc))
    flow = _flow_from_quick(quick, moment)
    matches = [match_name(name, scope.students) for name in quick.names]
    flow.student_ids = list(
        dict.fromkeys(m.student.id for m in matches if m.outcome == Outcome.FOUND)
    )
    flow.problems = [problem(m) for m in matches if m.outcome != Outcome.FOUND]
    if all(m.outcome != Outcome.UNKNOWN for m in matches):  # else the whole roster is shown
        flow.candidate_ids = [
            s.id for m in matches if m.outcome == Outcome.AMBIGUOUS for s in m.candidates
        ]
    if quick.kind == RecordKind.CARE and len(flow.student_ids) > 1:
        return Reply.text("一条关爱记录只记一位学生，请分开记录。")
    return advance(ctx, scope, flow)


_EXAMPLES: dict[RecordKind, str] = {
    RecordKind.PUBLICITY: "请写上宣传素材的内容，例如：宣传 读书沙龙推文素材已交学院",
    RecordKind.ACADEMY_BOOKING: "请写上预约或参加的书院活动，例如：书院 昨天 书院活动室 预约读书角",
    RecordKind.EXTERNAL_RESOURCE: "请写上引入的校外资源，例如：资源 邀请某公司工程师来校交流",
    RecordKind.SEMESTER_PLAN: "请写上学期计划的要点，例如：学期计划 每月一次读书沙龙……",
    RecordKind.MONTHLY_PLAN: "请写上本月计划的要点，例如：月计划 11月：两次个别交流、一次观影",
    RecordKind.MONTHLY_SUMMARY: "请写上本月总结的要点，例如：月总结 11月完成读书沙龙一次……",
}


def _is_name(ctx: Context, scope: Scope, word: str) -> bool:
    if match_name(word, scope.students).outcome != Outcome.UNKNOWN:
        return True
    return is_any_student_name(ctx.session, word)


def _flow_from_quick(quick: QuickRecord, moment: datetime) -> Flow:
    flow = Flow(
        flow_id=uuid.uuid4().hex[:12],
        kind=quick.kind.value,
        day=moment.date().isoformat(),
        at=moment.strftime("%H:%M"),
        place=quick.place,
        online=quick.online,
        place_done=True,
        note=quick.note,
        note_done=quick.note is not None or quick.kind != RecordKind.CARE,
        title=quick.title,
        activity_type=quick.activity_type,
        quick=True,
    )
    return flow
