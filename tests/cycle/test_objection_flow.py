"""提出异议 as a pure state machine: which item, what is wrong, confirm (no app)."""

from __future__ import annotations

from decimal import Decimal

from bot.core.rubrics import DEFAULT_RUBRIC, rubric_named
from bot.cycle import objection_flow as flow

RUBRIC = rubric_named(DEFAULT_RUBRIC)


def _take(draft, answer):
    asked = flow.next_question(draft, RUBRIC).draft
    taken = flow.step(asked, answer, RUBRIC)
    assert not isinstance(taken, flow.Refusal), taken
    return taken


def test_item_then_text_then_confirm_then_ready():
    draft = flow.new_draft(7)
    question = flow.next_question(draft, RUBRIC)
    assert isinstance(question, flow.PickItem) and question.draft.step == "item"
    ids = [value for value, _ in question.options]
    assert ids[: flow.PAGE_SIZE] == [i.id for i in RUBRIC.items][: flow.PAGE_SIZE]
    assert len(question.options) <= 20  # a select card's limit
    if len(RUBRIC.items) > flow.PAGE_SIZE:
        assert ids[-1] == flow.NEXT_PAGE
        second = flow.next_question(_take(draft, flow.Picked(None, more=True)), RUBRIC)
        assert second.options[0][0] == RUBRIC.items[flow.PAGE_SIZE].id
    item = RUBRIC.items[6]
    draft = _take(draft, flow.Picked(item.id))
    question = flow.next_question(draft, RUBRIC)
    assert isinstance(question, flow.AskText) and item.title in question.text
    draft = _take(draft, flow.Written("  我每周都有交流  "))
    question = flow.next_question(draft, RUBRIC, {item.id: Decimal(0)})
    assert isinstance(question, flow.Confirm)
    assert dict(question.fields)["当前得分"] == f"0 / {item.max.normalize()}"
    draft = _take(draft, flow.Confirmed())
    assert isinstance(flow.next_question(draft, RUBRIC), flow.Ready)
    assert flow.objection_text(draft, RUBRIC) == f"【{item.id} {item.title}】我每周都有交流"


def test_refusals_keep_the_question():
    asked = flow.next_question(flow.new_draft(7), RUBRIC).draft
    assert isinstance(flow.step(asked, flow.Picked(None), RUBRIC), flow.Refusal)
    assert isinstance(flow.step(asked, flow.Picked("ZZ9"), RUBRIC), flow.Refusal)
    assert flow.step(asked, flow.Confirmed(), RUBRIC) == flow.Refusal(flow.USED_CARD)
    typed = flow.read_text(asked, RUBRIC.items[2].id.lower(), RUBRIC)  # an item typed
    assert typed == flow.Picked(RUBRIC.items[2].id)
    assert isinstance(flow.read_text(asked, "随便说说", RUBRIC), flow.Refusal)
    draft = _take(flow.new_draft(7), flow.Picked(RUBRIC.items[0].id))
    at_text = flow.next_question(draft, RUBRIC).draft
    assert isinstance(flow.step(at_text, flow.Written("   "), RUBRIC), flow.Refusal)
    at_confirm = flow.next_question(_take(draft, flow.Written("x")), RUBRIC).draft
    assert flow.read_text(at_confirm, "确认", RUBRIC) == flow.Confirmed()
    assert isinstance(flow.read_text(at_confirm, "再想想", RUBRIC), flow.Refusal)
