"""提出异议 as a small conversation: which item (a select card of the rubric's items), what is
wrong (text), confirm. A pure state machine like the record flow (``bot.records.flow``):
``next_question(draft, rubric, scores)`` says what to ask, ``step(draft, answer, rubric)`` takes
an answer, ``read_text`` turns typed text into the answer to the question asked. No clock, no
I/O; the handler (``handlers.objections``) draws the questions and saves the objection.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from bot.chat.state import StateKey
from scoring.numbers import fmt
from scoring.rubric import Item, Rubric

DRAFT_TTL = timedelta(minutes=30)
PAGE_SIZE = 19  # a select card holds 20 options: 19 items and 下一页
NEXT_PAGE = "next"
MAX_TEXT = 1000
SAVE_WORDS = {"确认", "提交", "确定", "是", "好"}
TEXT_PROMPT = (
    "请发送具体哪里不对、您认为应当如何计分，例如：我上传了学期计划，但这一项计为 0 分。"
    "发送“取消”可退出。"
)


@dataclass(frozen=True)
class Draft:
    """An objection being written (a new value for every answer)."""

    flow_id: str
    cycle_id: int
    step: str = ""  # the question asked: item, text or confirm
    page: int = 0
    item: str = ""
    text: str = ""
    confirmed: bool = False


DRAFT = StateKey("objection_draft", Draft, DRAFT_TTL)


def new_draft(cycle_id: int) -> Draft:
    return Draft(flow_id=uuid.uuid4().hex[:12], cycle_id=cycle_id)


# -- questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PickItem:
    """The select card: one page of the rubric's items (and 下一页)."""

    draft: Draft
    title: str
    prompt: str
    options: tuple[tuple[str, str], ...]  # (option id, text)


@dataclass(frozen=True)
class AskText:
    draft: Draft
    text: str


@dataclass(frozen=True)
class Confirm:
    draft: Draft
    title: str
    prompt: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Ready:
    """Everything given and confirmed: the objection to save (:func:`objection_text`)."""

    draft: Draft


Question = PickItem | AskText | Confirm | Ready


def objectionable(rubric: Rubric) -> list[Item]:
    """The items a mentor may object to: every item of the rubric, in its order."""
    return list(rubric.items)


def item_label(item: Item) -> str:
    return f"{item.id} {item.title}（满分 {fmt(item.max)}）"


def next_question(
    draft: Draft, rubric: Rubric, scores: Mapping[str, Decimal | None] | None = None
) -> Question:
    """What to ask next (the draft carries the step asked). ``scores``: the mentor's published
    score by item, shown on the confirm card."""
    if not draft.item:
        items = objectionable(rubric)
        start = draft.page * PAGE_SIZE
        shown = items[start : start + PAGE_SIZE]
        options = [(item.id, item_label(item)) for item in shown]
        if start + PAGE_SIZE < len(items):
            options.append((NEXT_PAGE, "下一页 ▶"))
        pages = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
        title = "提出异议：哪一项" + ("" if pages == 1 else f"（第{draft.page + 1}/{pages}页）")
        prompt = "请选择有异议的考核项目，也可以直接发送项目编号。发送“取消”可退出。"
        return PickItem(replace(draft, step="item"), title, prompt, tuple(options))
    if not draft.text:
        item = rubric.item_by_id[draft.item]
        return AskText(replace(draft, step="text"), f"异议项目：{item_label(item)}\n{TEXT_PROMPT}")
    if not draft.confirmed:
        item = rubric.item_by_id[draft.item]
        score = (scores or {}).get(draft.item)
        shown = "未计分" if score is None else f"{fmt(score)} / {fmt(item.max)}"
        fields = [("项目", f"{item.id} {item.title}"), ("当前得分", shown)]
        return Confirm(
            replace(draft, step="confirm"),
            "确认提出异议",
            f"异议内容：{draft.text[:200]}",
            tuple(fields),
        )
    return Ready(draft)


# -- answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Picked:
    item: str | None  # None: 下一页 (or nothing ticked)
    more: bool = False


@dataclass(frozen=True)
class Written:
    text: str


@dataclass(frozen=True)
class Confirmed:
    pass


@dataclass(frozen=True)
class Refusal:
    """What to say instead of moving on; the draft and its question stay."""

    text: str


Answer = Picked | Written | Confirmed
USED_CARD = "这张卡片已经处理过了，请使用最新的卡片，或发送“取消”重新开始。"
_STEP_OF = {Picked: "item", Written: "text", Confirmed: "confirm"}


def step(draft: Draft, answer: Answer, rubric: Rubric) -> Draft | Refusal:
    """The draft once ``answer`` is taken, or why it cannot be."""
    if _STEP_OF[type(answer)] != draft.step:
        return Refusal(USED_CARD)
    match answer:
        case Picked(item, more):
            if item is not None and item in rubric.item_by_id:
                return replace(draft, item=item, page=0)
            if more:
                return replace(draft, page=draft.page + 1)
            return Refusal("请选择一个考核项目。")
        case Written(text):
            text = text.strip()
            if not text:
                return Refusal(TEXT_PROMPT)
            return replace(draft, text=text[:MAX_TEXT])
        case Confirmed():
            return replace(draft, confirmed=True)
    raise TypeError(f"not an answer: {answer!r}")


def read_text(draft: Draft, text: str, rubric: Rubric) -> Answer | Refusal:
    """What the mentor typed, as the answer to the question asked."""
    text = text.strip()
    if draft.step == "item":
        wanted = text.split()[0].upper() if text else ""
        by_title = {item.title: item.id for item in rubric.items}
        found = wanted if wanted in rubric.item_by_id else by_title.get(text)
        if found is None:
            return Refusal(f"没有找到考核项目“{text[:20]}”。请在卡片中选择，或发送项目编号。")
        return Picked(found)
    if draft.step == "text":
        return Written(text)
    if draft.step == "confirm":
        if text in SAVE_WORDS:
            return Confirmed()
        return Refusal("请点击卡片上的“提交”，或发送“确认”提交、“取消”放弃。")
    return Refusal(USED_CARD)


def objection_text(draft: Draft, rubric: Rubric) -> str:
    """The objection as stored and sent to the office: the item named, then the complaint."""
    item = rubric.item_by_id[draft.item]
    return f"【{item.id} {item.title}】{draft.text}"
