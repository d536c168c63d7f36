"""异议: a mentor objects to a published result; the office answers and, with a written
reason, corrects a score (rankings and outstanding lists are recomputed)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa

from bot.chat.context import Context, Reply
from bot.chat.router import STALE_CARD, CardKey, Router, only
from bot.core.echo import echo
from bot.core.inputs import parse_id, parse_number
from bot.core.models import AssessmentCycle, Objection, Person, Role
from bot.core.rubrics import current_rubric, example_item
from bot.cycle import cycles, messages, objections
from bot.cycle import objection_flow as flow
from bot.cycle.cycles import CycleError
from bot.cycle.result_detail import item_scores
from bot.cycle.results import rubric_of
from bot.records.flow import FLOW
from bot.wecom import cards
from bot.wecom.messages import TemplateCardEvent, TextMessage
from handlers.cycle import env

router = Router("objections")


@dataclass(frozen=True)
class ItemTap:
    flow: str
    page: int


@dataclass(frozen=True)
class ConfirmTap:
    flow: str
    choice: Literal["send", "cancel"]


OBJECTION_ITEM = CardKey("obj_item", ItemTap)
OBJECTION_CONFIRM = CardKey("obj_confirm", ConfirmTap)
ITEM_QUESTION = "item"
EXPIRED = "这次异议填写已超时，没有提交。请重新点结果卡片上的“提出异议”。"


def _objection_example(ctx: Context) -> str:
    """An objection as it might be written, naming an item of the rubric that applies."""
    return f"异议 {example_item(current_rubric(ctx.session))} 我上传了学期计划，请核实"


def _correction_usage(ctx: Context) -> str:
    example = example_item(current_rubric(ctx.session))
    return (
        "请写作：更正 异议编号（或导师工号） 项目 新分数 原因\n"
        f"例：更正 3 {example} 4.5 已核实学期计划"
    )


def _rest(message: TextMessage) -> str:
    parts = message.content.strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


@router.on_command("异议")
@only(Role.MENTOR, refusal="只有参加考核的导师可以对自己的结果提出异议。")
def object_text(message: TextMessage, ctx: Context) -> Reply:
    text = _rest(message)
    if not text:  # 异议 alone: the same steps as 提出异议 on the result card
        cycle = cycles.find_cycle(ctx.session)
        try:
            if cycle is None:
                raise CycleError("现在不在考核结果公示期，不能提出异议。")
            objections.check_may_object(ctx.session, cycle, ctx.person, now=ctx.now)
        except CycleError as exc:
            return Reply.text(f"{exc}\n公示期间可以这样提出：{_objection_example(ctx)}")
        ctx.conversation.clear(FLOW)
        return _ask(ctx, cycle, flow.new_draft(cycle.id))
    try:
        cycle = cycles.require_cycle(ctx.session)
        objection = objections.raise_objection(ctx.session, cycle, ctx.person, text, now=ctx.now)
    except CycleError as exc:
        return Reply.text(str(exc))
    return Reply.text(f"已收到您的异议（编号 {objection.id}），书院部和学院会尽快核实并答复。")


@router.on_card(messages.OBJECT)
@only(Role.MENTOR, refusal="只有参加考核的导师可以对自己的结果提出异议。")
def start_objection(message: TemplateCardEvent, ctx: Context) -> Reply:
    """提出异议 on a result card: the item, what is wrong, confirm (bot.cycle.objection_flow)."""
    cycle = ctx.session.get(AssessmentCycle, messages.OBJECT.unpack(message.event_key).cycle_id)
    if cycle is None:
        return Reply.text(STALE_CARD)
    try:
        objections.check_may_object(ctx.session, cycle, ctx.person, now=ctx.now)
    except CycleError as exc:
        return Reply.text(str(exc))
    ctx.conversation.clear(FLOW)  # one conversation at a time: typed text answers this one
    return _ask(ctx, cycle, flow.new_draft(cycle.id))


def _ask(ctx: Context, cycle: AssessmentCycle, draft: flow.Draft) -> Reply:
    """The draft's next question drawn, or the objection raised once it is confirmed."""
    rubric = rubric_of(cycle)
    scores = None
    if draft.item and draft.text:  # the confirm card quotes the published score
        results = objections.check_may_object(ctx.session, cycle, ctx.person, now=ctx.now)
        scores = item_scores(results, rubric, ctx.person.id)
    question = flow.next_question(draft, rubric, scores)
    if isinstance(question, flow.Ready):
        ctx.conversation.clear(flow.DRAFT)
        text = flow.objection_text(question.draft, rubric)
        objection = objections.raise_objection(ctx.session, cycle, ctx.person, text, now=ctx.now)
        return Reply.text(
            f"已收到您的异议（编号 {objection.id}），书院部和学院会尽快核实并答复。\n{text}"
        )
    ctx.conversation.put(flow.DRAFT, question.draft, now=ctx.now)
    flow_id = question.draft.flow_id
    match question:
        case flow.PickItem():
            card = cards.vote_interaction(
                question.title,
                desc=question.prompt,
                task_id=ctx.new_task_id("objection"),
                question_key=ITEM_QUESTION,
                options=[cards.Option(value, text) for value, text in question.options],
                submit_key=OBJECTION_ITEM.pack(flow_id, question.draft.page),
                submit_text="下一步",
            )
            return Reply.template_card(card)
        case flow.AskText():
            return Reply.text(question.text)
        case flow.Confirm():
            card = cards.button_interaction(
                question.title,
                desc=question.prompt,
                task_id=ctx.new_task_id("objection"),
                fields=question.fields,
                buttons=[
                    cards.Button(OBJECTION_CONFIRM.pack(flow_id, "send"), "提交"),
                    cards.Button(OBJECTION_CONFIRM.pack(flow_id, "cancel"), "取消", style=4),
                ],
            )
            return Reply.template_card(card)
    raise TypeError(f"cannot draw {question!r}")


def _take(ctx: Context, draft: flow.Draft, given: flow.Answer | flow.Refusal) -> Reply:
    """Take the answer and ask what comes next; a refusal is said, then the question again."""
    cycle = ctx.session.get(AssessmentCycle, draft.cycle_id)
    if cycle is None:
        ctx.conversation.clear(flow.DRAFT)
        return Reply.text(STALE_CARD)
    rubric = rubric_of(cycle)
    if not isinstance(given, flow.Refusal):
        given = flow.step(draft, given, rubric)
    try:
        if isinstance(given, flow.Refusal):
            ctx.send([ctx.person.userid], Reply.text(given.text))
            return _ask(ctx, cycle, replace(draft, step=""))
        return _ask(ctx, cycle, given)
    except CycleError as exc:  # the objection period ended while the mentor was writing
        ctx.conversation.clear(flow.DRAFT)
        return Reply.text(str(exc))


def _take_tap(
    message: TemplateCardEvent,
    ctx: Context,
    flow_id: str,
    step: str,
    done: str,
    given: flow.Answer | None,
) -> Reply:
    loaded = ctx.conversation.load(flow.DRAFT, now=ctx.now)
    if loaded is None or loaded.value.flow_id != flow_id or loaded.value.step != step:
        ctx.update_card(message.response_code, replace_name="已失效")
        return Reply.text(flow.USED_CARD)
    if loaded.expired:
        ctx.conversation.clear(flow.DRAFT)
        ctx.update_card(message.response_code, replace_name="已过期")
        return Reply.text(EXPIRED)
    ctx.update_card(message.response_code, replace_name=done)
    if given is None:
        ctx.conversation.clear(flow.DRAFT)
        return Reply.text("已取消，异议没有提交。")
    return _take(ctx, loaded.value, given)


@router.on_card(OBJECTION_ITEM)
@only(Role.MENTOR, refusal=STALE_CARD)
def choose_item(message: TemplateCardEvent, ctx: Context) -> Reply:
    tap = OBJECTION_ITEM.unpack(message.event_key)
    picked = list(message.selected(ITEM_QUESTION))
    item = next((value for value in picked if value != flow.NEXT_PAGE), None)
    given = flow.Picked(item, more=flow.NEXT_PAGE in picked)
    return _take_tap(message, ctx, tap.flow, "item", "已选择", given)


@router.on_card(OBJECTION_CONFIRM)
@only(Role.MENTOR, refusal=STALE_CARD)
def confirm_objection(message: TemplateCardEvent, ctx: Context) -> Reply:
    tap = OBJECTION_CONFIRM.unpack(message.event_key)
    if tap.choice == "cancel":
        return _take_tap(message, ctx, tap.flow, "confirm", "已取消", None)
    return _take_tap(message, ctx, tap.flow, "confirm", "已提交", flow.Confirmed())


def continue_objection(message: TextMessage, ctx: Context) -> Reply | None:
    """Text that is not a command, while an objection is being written: its answer. None when
    no draft (not even an expired one) waits for this person."""
    loaded = ctx.conversation.load(flow.DRAFT, now=ctx.now)
    if loaded is None:
        return None
    if loaded.expired:
        ctx.conversation.clear(flow.DRAFT)
        return Reply.text(EXPIRED)
    cycle = ctx.session.get(AssessmentCycle, loaded.value.cycle_id)
    if cycle is None:
        ctx.conversation.clear(flow.DRAFT)
        return None
    given = flow.read_text(loaded.value, message.content, rubric_of(cycle))
    return _take(ctx, loaded.value, given)


@router.on_command("答复")
@only(Role.ACADEMY_ADMIN, refusal="只有书院部管理员可以答复异议。")
def answer(message: TextMessage, ctx: Context) -> Reply:
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
def correct(message: TextMessage, ctx: Context) -> Reply:
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
