"""What a handler receives besides the message: who asked, when, and how to answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so

from bot.chat.state import ConversationState
from bot.core.models import Person, Role
from bot.core.settings import Settings
from bot.core.storage import FileStore
from bot.outbox import queue as outbox
from bot.outbox.queue import Message

Reply = Message


@dataclass
class Context:
    """One callback being handled. ``now`` is the only clock handlers read."""

    person: Person
    session: so.Session
    now: datetime
    settings: Settings
    callback_key: str
    state: ConversationState | None = None  # the person's conversation state (Redis)
    files: FileStore | None = None  # where charts and workbooks are saved before they are sent
    _sent: int = field(default=0, init=False)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.zone)

    @property
    def conversation(self) -> ConversationState:
        """The person's conversation state; a callback always carries it."""
        if self.state is None:
            raise RuntimeError("this context carries no conversation state")
        return self.state

    def has_role(self, role: Role) -> bool:
        return self.person.has_role(role)

    def new_task_id(self, purpose: str) -> str:
        """A template-card task_id unique for the app (WeCom refuses a reused one)."""
        return f"{purpose}-{uuid.uuid4().hex}"

    def update_card(
        self,
        response_code: str,
        *,
        replace_name: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        """Replace the tapped card for this person (once per response code)."""
        if (card is None) == (replace_name is None):
            raise ValueError("give exactly one of card and replace_name")
        body: dict[str, Any] = {"response_code": response_code}
        if card is not None:
            body["template_card"] = card
        else:
            body["button"] = {"replace_name": replace_name}
        outbox.enqueue(
            self.session,
            [self.person.userid],
            Message("update_template_card", body),
            key=f"card:{self.callback_key}",
            now=self.now,
        )

    def send(self, userids: Iterable[str], message: Message, *, key: str | None = None) -> int:
        """Queue a message for other people, in this callback's transaction."""
        self._sent += 1
        return outbox.enqueue(
            self.session,
            userids,
            message,
            key=key or f"cb:{self.callback_key}:{self._sent}",
            now=self.now,
        )
