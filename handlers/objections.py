"""异议: a mentor objects to a published result; the office answers and, with a written
reason, corrects a score (rankings and outstanding lists are recomputed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bot.chat.context import Context, Reply
from bot.chat.router import Router, only
from bot.core.echo import echo
from bot.core.inputs import parse_id, parse_number
from bot.core.models import Objection, Person, Role
from bot.core.rubrics import current_rubric, example_item
from bot.cycle import cycles, messages, objections
from bot.cycle.cycles import CycleError
from handlers.cycle import env

router = Router("objections")


def _objection_example(ctx: Context) -> str:
    """An objection as it might be written, naming an item of the rubric that applies."""
    return f"异议 {example_item(current_rubric(ctx.session))} 我上传了学期计划，请核实"


def _correction_usage(ctx: Context) -> str:
    example = example_item(current_rubric(ctx.session))
    return (
        "请写作：更正 异议编号（或导师工号） 项目 新分数 原因\n"
        f"例：更正 3 {example} 4.5 已核实学期计划"
    )


def _rest(message: Any) -> str:
    parts = message.content.strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


@router.on_command("异议")
def object_text(message: Any, ctx: Context) -> Reply:
    text = _rest(message)
    if not ctx.has_role(Role.MENTOR):
        return Reply.text("只有参加考核的导师可以对自己的结果提出异议。")
    if not text:
        return Reply.text(f"请写明异议内容，例如：{_objection_example(ctx)}")
    try:
        cycle = cycles.require_cycle(ctx.session)
        objection = objections.raise_objection(ctx.session, cycle, ctx.person, text, now=ctx.now)
    except CycleError as exc:
        return Reply.text(str(exc))
    return Reply.text(f"已收到您的异议（编号 {objection.id}），书院部和学院会尽快核实并答复。")


@router.on_card(messages.OBJECT)
def object_card(message: Any, ctx: Context) -> Reply:
    return Reply.text(f"请直接发送“异议 + 具体内容”，例如：{_objection_example(ctx)}")


@router.on_command("答复")
@only(Role.ACADEMY_ADMIN, refusal="只有书院部管理员可以答复异议。")
def answer(message: Any, ctx: Context) -> Reply:
    parts = _rest(message).split(maxsplit=1)
    if len(parts) < 2 or not parts[0].lstrip("#").isdecimal():
        return Reply.text("请写作：答复 异议编号 答复内容")
    objection_id = parse_id(parts[0].lstrip("#"))
    if objection_id is None:  # out of range: no such objection
        return Reply.text(f"没有编号为 {parts[0][:20]} 的异议。")
    try:
        objection = objections.answer_objection(
            ctx.session, objection_id, parts[1], actor=ctx.person, now=ctx.now
        )
    except CycleError as exc:
        return Reply.text(str(exc))
    return Reply.text(f"已答复异议 {objection.id}，导师会收到答复。")


@router.on_command("更正")
@only(Role.ACADEMY_ADMIN, refusal="只有书院部管理员可以更正分数。")
def correct(message: Any, ctx: Context) -> Reply:
    parts = _rest(message).split(maxsplit=3)
    if len(parts) < 4:
        usage = _correction_usage(ctx)
        return Reply.text(usage if len(parts) < 3 else "更正分数必须写明原因。\n" + usage)
    who, item, raw_value, reason = parts
    achieved = {"是": True, "否": False}.get(raw_value)  # a bonus item: achieved or not
    value = Decimal(0) if achieved is not None else parse_number(raw_value)
    if value is None:
        return Reply.text(f"“{echo(raw_value)}”不是分数。\n" + _correction_usage(ctx))
    objection = None
    mentor = None
    if not who.startswith("#"):
        mentor = ctx.session.scalar(sa.select(Person).where(Person.number == who))
    objection_id = parse_id(who.lstrip("#"))
    if mentor is None and objection_id is not None:
        objection = ctx.session.get(Objection, objection_id)
        if objection is not None:
            mentor = ctx.session.get(Person, objection.mentor_id)
    if mentor is None:
        return Reply.text(f"找不到异议或导师“{echo(who)}”。")
    try:
        cycle = cycles.require_cycle(ctx.session)
        changed = objections.correct(
            ctx.session, cycle, mentor=mentor, item=item.upper(), value=value, reason=reason,
            actor=ctx.person, now=ctx.now, env=env(ctx), objection=objection, achieved=achieved,
        )  # fmt: skip
    except CycleError as exc:
        return Reply.text(str(exc))
    return Reply.text(
        f"已更正 {mentor.name} 的 {item.upper()} 为 {echo(raw_value)}（原因已记录）。"
        f"重新计算后结果有变化的 {len(changed)} 位导师已收到新结果。"
    )
