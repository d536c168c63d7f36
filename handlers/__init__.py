"""What the bot does with each message or card tap: one module per thing a person does."""

from __future__ import annotations

from bot.chat.context import Context, Reply
from bot.chat.router import Dispatcher
from bot.wecom.messages import TextMessage
from handlers import (
    cycle,
    evidence,
    objections,
    progress,
    rating_export,
    ratings,
    record_delete,
    record_flow,
    record_list,
    records,
    uploads,
)
from handlers import help as help_handlers


def answer_text(message: TextMessage, ctx: Context) -> Reply | None:
    """Text no command claims: the answer to an open record flow, else help."""
    in_flow = record_flow.continue_flow(message, ctx)
    if in_flow is not None:
        return in_flow
    objecting = objections.continue_objection(message, ctx)
    if objecting is not None:
        return objecting
    return help_handlers.answer_unrecognised(message, ctx)


def build_dispatcher() -> Dispatcher:
    return Dispatcher(
        routers=[
            help_handlers.router,
            uploads.router,
            records.router,
            record_flow.router,
            record_list.router,
            record_delete.router,
            progress.router,
            evidence.router,
            ratings.router,
            rating_export.router,
            cycle.router,
            objections.router,
        ],
        fallback=answer_text,
    )
