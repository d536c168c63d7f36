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
from bot.roster.contacts import apply_contact_change
from bot.roster.userids import active_person, fold
from bot.wecom import messages as wm

SYSTEM_SENDER = "sys"  # FromUserName of WeCom's own events (change_contact, batch jobs)


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
    if isinstance(message, wm.ChangeContactEvent):
        if fold(message.from_user) == SYSTEM_SENDER:  # only WeCom itself changes the book
            apply_contact_change(session, message, now)
        return
    if isinstance(message, wm.LocationEvent):
        return  # the client's location report: not used, never answered (visitors neither)
    # the sender with their roles (every handler asks for them); WeCom ids are case-insensitive
    person = active_person(session, message.from_user)
    if person is None:
        _answer_visitor(session, message.from_user, settings, now)
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


def _answer_visitor(session: so.Session, userid: str, settings: Settings, now: datetime) -> None:
    """Someone not on the roster is told whom to contact once a day, however often they write
    or open the app; WeCom's own ``sys`` (contact-book events such as change_contact) never:
    it is nobody, and a send to it fails with 81013."""
    visitor = fold(userid)  # one answer a day to the account, in whatever case it writes
    if visitor == SYSTEM_SENDER:
        return
    today = now.astimezone(settings.zone).date()
    outbox.enqueue(
        session,
        [visitor],
        Message.text(
            "您好，您不在全生异科导师工作名单中，暂时无法使用本应用。"
            f"如有疑问，请联系{settings.SUPPORT_CONTACT}。"
        ),
        key=f"visitor:{today:%Y%m%d}",
        now=now,
    )


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
