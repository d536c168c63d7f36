"""The guided record flow in chat: each question of ``bot.records.questions`` drawn as a card
or a text, each tap or text turned into an answer for ``bot.records.answers.step``.

The menu's 其他记录 answers with a card of the kinds that have no menu button of their own;
a tap starts that kind's flow. The flow lives in Redis (``bot.chat.state``) for 30 minutes;
``取消`` leaves it; a tap or text on an expired flow says so. Quick text with missing or
unclear details continues here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, Literal

from bot.chat.context import Context, Reply
from bot.chat.router import CardKey, Router, for_roles
from bot.core.inputs import parse_id
from bot.core.models import RecordKind, Role
from bot.cycle.objection_flow import DRAFT
from bot.records import answers
from bot.records.flow import (
    FLOW,
    FLOWS,
    LAST_RECORD,
    PICKER_KINDS,
    PICKER_NAMES,
    START_RECORD,
    TALK,
    Flow,
    LastRecord,
    new_flow,
)
from bot.records.questions import (
    HOURS,
    NEXT_PAGE,
    Buttons,
    PickStudents,
    Prompt,
    Question,
    Ready,
    next_question,
)
from bot.records.saving import save_flow
from bot.wecom import cards
from bot.wecom.messages import ClickEvent, TemplateCardEvent, TextMessage
from handlers.record_scope import Scope, for_mentors, mentor_scope, situation

router = Router("record_flow")

EXPIRED = "操作已过期，请重新开始（例如发送“交流”或点击菜单“记录”）。"
CANCELLED = "已取消，没有保存任何内容。"
SOURCE = "全生异科导师"

MENU_CONTACT = "record_contact"
MENU_ACTIVITY = "record_activity"
MENU_TALK = "record_talk"
MENU_CARE = "record_care"
MENU_OTHER = "record_other"  # the kind picker: kinds without a menu button of their own


@dataclass(frozen=True)
class PageTap:
    flow: str
    page: int


@dataclass(frozen=True)
class WhoTap:
    flow: str
    who: Literal["counsellor", "leader"]


@dataclass(frozen=True)
class ChoiceTap:
    flow: str
    choice: str


PICK = CardKey("rec_pick", PageTap)
WHO = CardKey("rec_who", WhoTap)
TITLE = CardKey("rec_title", ChoiceTap)
MONTH = CardKey("rec_month", ChoiceTap)
WHEN = CardKey("rec_when", ChoiceTap)
PLACE = CardKey("rec_place", ChoiceTap)
NOTE = CardKey("rec_note", ChoiceTap)
CONFIRM = CardKey("rec_confirm", ChoiceTap)
# The card key of each step's buttons.
BUTTON_KEYS: dict[str, CardKey[Any]] = {
    "who": WHO,
    "title": TITLE,
    "month": MONTH,
    "time": WHEN,
    "place": PLACE,
    "note": NOTE,
    "confirm": CONFIRM,
}
STUDENTS_QUESTION = "students"
HOUR_CHOICES = {value for value, _ in HOURS}


def start_flow(ctx: Context, scope: Scope, kind: str) -> Reply | None:
    return advance(ctx, scope, new_flow(kind))


def advance(ctx: Context, scope: Scope, flow: Flow) -> Reply | None:
    """Ask the flow's next question (keeping the flow while it waits), or save the flow."""
    question = next_question(flow, situation(ctx, scope))
    if isinstance(question, Ready):
        return _save(ctx, scope, question.flow)
    ctx.conversation.put(FLOW, question.flow, now=ctx.now)
    return _draw(ctx, question)


def _draw(ctx: Context, question: Question) -> Reply:
    flow_id = question.flow.flow_id
    match question:
        case Buttons():
            key = BUTTON_KEYS[question.flow.step]
            card = cards.button_interaction(
                question.title,
                desc=question.prompt,
                task_id=ctx.new_task_id("rec"),
                fields=question.fields,
                buttons=[
                    cards.Button(key.pack(flow_id, b.value), b.text, style=4 if b.secondary else 1)
                    for b in question.buttons
                ],
                source=SOURCE,
            )
            return Reply.template_card(card)
        case PickStudents():
            # a vote card has no sub_title_text or fields, and WeCom cuts its desc near 44
            # characters: what does not fit whole (the chosen list, a long "可能是") is said
            # first in a text, where nothing is cut
            desc, left_out = cards.fit_desc(question.prompt.splitlines())
            if left_out:
                ctx.send([ctx.person.userid], Reply.text(question.prompt))
            card = cards.vote_interaction(
                question.title,
                desc=desc,
                task_id=ctx.new_task_id("rec"),
                question_key=STUDENTS_QUESTION,
                options=[
                    cards.Option(o.value, o.text, checked=o.checked) for o in question.options
                ],
                submit_key=PICK.pack(flow_id, question.flow.page),
                submit_text="下一步",
                multiple=question.multiple,
                source=SOURCE,
            )
            return Reply.template_card(card)
        case Prompt(markdown=True):
            return Reply.markdown(question.text)
        case Prompt():
            return Reply.text(question.text)
    raise TypeError(f"cannot draw {question!r}")


def _save(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    saved = save_flow(ctx.session, flow, situation(ctx, scope), mentor=ctx.person, year=scope.year)
    if isinstance(saved, answers.Refusal):
        if saved.ends:
            ctx.conversation.clear(FLOW)
        return Reply.text(saved.text)
    ctx.conversation.clear(FLOW)
    ctx.conversation.put(LAST_RECORD, LastRecord(saved.record.id), now=ctx.now)
    return Reply.text(saved.text)


def take(
    ctx: Context, scope: Scope, flow: Flow, given: answers.Answer | answers.Refusal
) -> Reply | None:
    """Take the answer and ask what comes next; a refusal is said (and, when it keeps a flow,
    followed by that flow's question again)."""
    if not isinstance(given, answers.Refusal):
        given = answers.step(flow, given, situation(ctx, scope))
    if not isinstance(given, answers.Refusal):
        return advance(ctx, scope, given)
    if given.flow is None:
        return Reply.text(given.text)
    ctx.send([ctx.person.userid], Reply.text(given.text))
    return advance(ctx, scope, given.flow)


def offer_kinds(ctx: Context) -> Reply:
    """The kind picker: one button per kind without a menu button of its own."""
    card = cards.button_interaction(
        "其他记录",
        desc="请选择要记录的类型",
        task_id=ctx.new_task_id("rec"),
        buttons=[
            cards.Button(START_RECORD.pack(kind.value), PICKER_NAMES[kind]) for kind in PICKER_KINDS
        ],
        source=SOURCE,
    )
    return Reply.template_card(card)


def _take_tap(
    message: TemplateCardEvent,
    ctx: Context,
    key: CardKey[Any],
    step: str,
    done: str,
    given: answers.Answer | None,
) -> Reply | None:
    """A tap on the card of the flow's ``step``: mark the card ``done`` and take ``given``
    (None: the flow is cancelled). Not a mentor, a flow expired or replaced, a card already
    answered: say so instead."""
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    loaded = ctx.conversation.load(FLOW, now=ctx.now)
    if loaded is None or loaded.value.flow_id != key.unpack(message.event_key).flow:
        ctx.update_card(message.response_code, replace_name="已失效")
        return Reply.text(EXPIRED)
    if loaded.expired:
        ctx.conversation.clear(FLOW)
        ctx.update_card(message.response_code, replace_name="已过期")
        return Reply.text(EXPIRED)
    if loaded.value.step != step:
        ctx.update_card(message.response_code, replace_name="已失效")
        return Reply.text(answers.USED_CARD)
    ctx.update_card(message.response_code, replace_name=done)
    if given is None:
        ctx.conversation.clear(FLOW)
        return Reply.text(CANCELLED)
    return take(ctx, scope, loaded.value, given)


@router.on_card(WHO)
def choose_counterpart(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    who = WHO.unpack(message.event_key).who
    kind = RecordKind.COUNSELLOR_TALK if who == "counsellor" else RecordKind.LEADER_TALK
    return _take_tap(message, ctx, WHO, "who", "已选择", answers.Who(kind))


@router.on_card(PICK)
def choose_students(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    picked = set(message.selected(STUDENTS_QUESTION))
    ids = tuple(sid for sid in map(parse_id, picked) if sid is not None)
    given = answers.Picked(ids, more=NEXT_PAGE in picked)
    return _take_tap(message, ctx, PICK, "students", "已提交", given)


@router.on_card(TITLE)
def choose_title(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    given = answers.TitleChoice(TITLE.unpack(message.event_key).choice)
    return _take_tap(message, ctx, TITLE, "title", "已选择", given)


@router.on_card(MONTH)
def choose_month(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    given = answers.MonthTap(last=MONTH.unpack(message.event_key).choice == "last")
    return _take_tap(message, ctx, MONTH, "month", "已选择", given)


@router.on_card(WHEN)
def choose_day(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    choice = WHEN.unpack(message.event_key).choice
    given: answers.Answer
    if choice in HOUR_CHOICES:  # the hour of a day already chosen
        given = answers.Hour(time(int(choice[1:3]), int(choice[3:5])))
    else:
        back = int(choice) if choice in {"0", "1", "2"} else 0
        given = answers.Day(ctx.local_now.date() - timedelta(days=back))
    return _take_tap(message, ctx, WHEN, "time", "已选择", given)


@router.on_card(PLACE)
def choose_place(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    choice = PLACE.unpack(message.event_key).choice
    taps = {"online": answers.Place(True, "线上"), "offline": answers.Place(False)}
    return _take_tap(message, ctx, PLACE, "place", "已选择", taps.get(choice, answers.Place()))


@router.on_card(NOTE)
def skip_note(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    return _take_tap(message, ctx, NOTE, "note", "已跳过", answers.SkipNote())


@router.on_card(CONFIRM)
def confirm_record(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    if CONFIRM.unpack(message.event_key).choice == "save":
        return _take_tap(message, ctx, CONFIRM, "confirm", "已保存", answers.Save())
    return _take_tap(message, ctx, CONFIRM, "confirm", "已取消", None)


@router.on_command("取消", "退出")
@for_roles(Role.MENTOR)  # only mentors have conversations to cancel; anyone else is told so
def cancel_flow(message: TextMessage, ctx: Context) -> Reply:
    state = ctx.conversation
    loaded = state.load(FLOW, now=ctx.now)
    objection = state.load(DRAFT, now=ctx.now)  # an objection being written (提出异议)
    state.clear(FLOW)
    state.clear(DRAFT)
    if objection is not None and not objection.expired:
        return Reply.text("已取消，异议没有提交。")
    if loaded is None or loaded.expired:
        return Reply.text("当前没有进行中的操作。")
    return Reply.text(CANCELLED)


def continue_flow(message: TextMessage, ctx: Context) -> Reply | None:
    """Text that is not a command: the answer to the flow's question, if a flow is open.

    Returns None when no flow (not even an expired one) is waiting for this person.
    """
    state = ctx.conversation
    loaded = state.load(FLOW, now=ctx.now)
    if loaded is None:
        return None
    if loaded.expired:
        state.clear(FLOW)
        return Reply.text(EXPIRED)
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        state.clear(FLOW)
        return scope
    flow = loaded.value
    given = answers.read_text(flow, message.content.strip(), situation(ctx, scope))
    return take(ctx, scope, flow, given)


_MENU_KINDS = {
    MENU_CONTACT: RecordKind.CONTACT.value,
    MENU_ACTIVITY: RecordKind.GROUP_ACTIVITY.value,
    MENU_TALK: TALK,
    MENU_CARE: RecordKind.CARE.value,
}


@router.on_menu(*_MENU_KINDS)
@for_mentors
def start_from_menu(message: ClickEvent, ctx: Context, scope: Scope) -> Reply | None:
    ctx.conversation.clear(FLOW)
    return start_flow(ctx, scope, _MENU_KINDS[message.event_key])


@router.on_menu(MENU_OTHER)
@for_mentors
def pick_kind(message: ClickEvent, ctx: Context, scope: Scope) -> Reply | None:
    """菜单 记录 → 其他记录: a card of the other kinds; a tap starts that kind's flow."""
    return offer_kinds(ctx)


@router.on_card(START_RECORD)
def start_from_card(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    """A one-tap button (the kind picker, the weekly reminder's 记录个别交流): the same flow
    as the menu."""
    kind = START_RECORD.unpack(message.event_key).kind
    if kind not in FLOWS:
        return Reply.text("这个按钮已失效，请点击菜单“记录”。")
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    ctx.conversation.clear(FLOW)
    return start_flow(ctx, scope, kind)
