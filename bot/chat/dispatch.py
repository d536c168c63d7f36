"""One parsed callback → the person who sent it → the handler → replies in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy.orm as so

from bot.chat.context import Context
from bot.chat.router import STALE_CARD, CardKeyError, Dispatcher, Handler
from bot.chat.state import ConversationState
from bot.core.redis_store import RedisStore
from bot.core.settings import Settings
from bot.core.storage import FileStore
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.userids import active_person
from bot.wecom import messages as wm


def handle(
    message: wm.Message,
    *,
    session: so.Session,
    settings: Settings,
    dispatcher: Dispatcher,
    now: datetime,
    store: RedisStore,
    files: FileStore | None = None,
) -> None:
    """Act on one callback inside the caller's transaction; ``store`` holds the people's
    conversation state (a handler reaches it as ``ctx.state``)."""
    key = message.dedupe_key
    # the sender with their roles (every handler asks for them); WeCom ids are case-insensitive
    person = active_person(session, message.from_user)
    if person is None:
        outbox.enqueue(
            session,
            [message.from_user],
            Message.text(
                "您好，您不在全生异科导师工作名单中，暂时无法使用本应用。"
                f"如有疑问，请联系{settings.SUPPORT_CONTACT}。"
            ),
            key=f"reply:{key}",
            now=now,
        )
        return
    ctx = Context(
        person=person,
        session=session,
        now=now,
        settings=settings,
        callback_key=key,
        state=ConversationState(store, person.userid),
        files=files,
    )
    handler = route(message, dispatcher)
    if handler is None:
        return
    stale = _stale_card(message, dispatcher)
    reply = stale if stale is not None else handler(message, ctx)
    if reply is not None:
        outbox.enqueue(session, [person.userid], reply, key=f"reply:{key}", now=now)


def _stale_card(message: wm.Message, dispatcher: Dispatcher) -> Message | None:
    """The answer to a tap whose key its ``CardKey`` does not unpack (missing, extra or
    malformed fields): checked before the handler runs, so no handler sees such a key."""
    if not isinstance(message, wm.TemplateCardEvent):
        return None
    card_key = dispatcher.card_key(message.event_key.split(":", 1)[0])
    if card_key is None:
        return None
    try:
        card_key.unpack(message.event_key)
    except CardKeyError:
        return Message.text(STALE_CARD)
    return None


def route(message: wm.Message, dispatcher: Dispatcher) -> Handler | None:
    """The handler for ``message``; the fallback for text nobody claims; None to ignore."""
    found: Any = None
    if isinstance(message, wm.TextMessage):
        words = message.content.split()
        found = dispatcher.find("commands", words[0]) if words else None
        return found or dispatcher.fallback
    if isinstance(message, wm.TemplateCardEvent):
        return dispatcher.find("cards", message.event_key.split(":", 1)[0])
    if isinstance(message, wm.ClickEvent):
        return dispatcher.find("menu_keys", message.event_key)
    if isinstance(message, wm.Event):
        return dispatcher.find("events", message.event)
    return dispatcher.find("message_types", message.msg_type)
