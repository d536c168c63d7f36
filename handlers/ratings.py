"""A student's tap on a rating card: stored once, the card updated in place, or a short why-not."""

from __future__ import annotations

from bot.chat.context import Context, Reply
from bot.chat.router import Router
from bot.outbox.card_closing import CLOSED
from bot.ratings import rules, taps
from bot.ratings.cards import RATE, REFUSALS, answered_text
from bot.ratings.rules import TapOutcome
from bot.wecom.messages import TemplateCardEvent

router = Router("ratings")


@router.on_card(RATE)
def answer_rating(message: TemplateCardEvent, ctx: Context) -> Reply | None:
    tap = RATE.unpack(message.event_key)  # the dispatcher answered malformed keys
    choice = rules.parse_choice(tap.choice)
    if not tap.record_id or choice is None:
        return Reply.text(REFUSALS[TapOutcome.INVALID])
    result = taps.record_tap(
        ctx.session,
        student=ctx.person,
        record_id=tap.record_id,
        choice=choice,
        now=ctx.now,
        policy=rules.policy_from(ctx.settings),
    )
    if result.outcome != TapOutcome.RECORDED:
        if result.outcome == TapOutcome.CLOSED and message.response_code:
            ctx.update_card(message.response_code, replace_name=CLOSED)
        return Reply.text(REFUSALS[result.outcome])
    if message.response_code:
        ctx.update_card(message.response_code, replace_name=answered_text(choice))
    return None
