"""From a parsed message to the handler that acts on it.

Each module in ``handlers/`` owns a ``Router`` and registers its handlers on it with an explicit
key: a text command, a message type, an event, or a card key. The bot's dispatcher asks the
routers in order and calls the first match. Handlers never see XML, HTTP or crypto.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin, get_type_hints

from bot.chat.context import Context, Reply
from bot.core.inputs import MAX_ID, parse_whole
from bot.core.models import Role

Handler = Callable[[Any, Context], Reply | None]
H = TypeVar("H", bound=Handler)

_KEY_PART = re.compile(r"[A-Za-z0-9_\-@.]+")
T = TypeVar("T")

# The one answer to a tap on a card whose key is malformed, out of date or never ours
STALE_CARD = "这张卡片已失效，本次点选未记录。"


class CardKeyError(ValueError):
    """A card key that is not what its ``CardKey`` packs: missing, extra or malformed fields."""


class CardKey(Generic[T]):
    """A card button or submit key: a fixed name plus the typed fields of ``shape``, a frozen
    dataclass whose fields are ``str``, ``int`` (0..2**31-1) or a ``Literal`` of strings.

    ``RATE = CardKey("rate", RateTap)`` with ``RateTap(record_id: int, choice: str)`` packs
    ``RATE.pack(12, "5")`` to ``rate:12:5`` and unpacks it to ``RateTap(12, "5")``; keys stay
    within WeCom's charset (letters, digits, ``_-@.``) plus the ``:`` separator.
    """

    def __init__(self, name: str, shape: type[T]) -> None:
        if not _KEY_PART.fullmatch(name):
            raise ValueError(f"card key name {name!r} has characters WeCom refuses")
        self.name = name
        self.shape = shape
        hints = get_type_hints(shape)
        self._types = tuple(hints[f.name] for f in dataclasses.fields(shape))  # type: ignore[arg-type]
        self.fields = tuple(f.name for f in dataclasses.fields(shape))  # type: ignore[arg-type]
        for kind in self._types:
            if kind not in (str, int) and get_origin(kind) is not Literal:
                raise TypeError(f"card key fields are str, int or Literal, not {kind!r}")

    def __repr__(self) -> str:
        return f"CardKey({self.name!r}, {self.shape.__name__})"

    def pack(self, *values: object) -> str:
        if len(values) != len(self.fields):
            raise ValueError(f"{self.name} needs {self.fields}, got {values!r}")
        parts = [self.name, *(str(value) for value in values)]
        for part in parts:
            if not _KEY_PART.fullmatch(part):
                raise ValueError(f"card key part {part!r} has characters WeCom refuses")
        return ":".join(parts)

    def unpack(self, key: str) -> T:
        """The typed fields of a key packed by :meth:`pack`; ``CardKeyError`` for anything
        else (the dispatcher answers a tap on such a key with ``STALE_CARD``)."""
        name, *values = key.split(":")
        if name != self.name or len(values) != len(self.fields):
            raise CardKeyError(f"{key[:80]!r} is not a {self.name} key")
        if not all(_KEY_PART.fullmatch(value) for value in values):
            raise CardKeyError(f"{key[:80]!r} has an empty or malformed field")
        return self.shape(
            *(_typed(kind, value, key) for kind, value in zip(self._types, values, strict=True))
        )

    def matches(self, key: str) -> bool:
        return key.split(":", 1)[0] == self.name


def _typed(kind: Any, value: str, key: str) -> object:
    if kind is int:
        number = parse_whole(value, 0, MAX_ID)
        if number is None:
            raise CardKeyError(f"{key[:80]!r}: {value[:20]!r} is not a whole number in range")
        return number
    if get_origin(kind) is Literal:
        if value not in get_args(kind):
            raise CardKeyError(f"{key[:80]!r}: {value[:20]!r} is not one of {get_args(kind)}")
        return value
    return value  # str


def only(*roles: Role, refusal: str) -> Callable[[H], H]:
    """A role filter: the handler runs for people holding one of ``roles``; anyone else is
    answered ``refusal`` and the handler does not run (put it below the ``@router.on_…``).
    The roles are kept on the handler (:func:`roles_of`), so help can be checked against them."""

    def decorator(handler: H) -> H:
        @functools.wraps(handler)
        def checked(message: Any, ctx: Context) -> Reply | None:
            if not any(ctx.has_role(role) for role in roles):
                return Reply.text(refusal)
            return handler(message, ctx)

        return for_roles(*roles)(checked)  # type: ignore[return-value]

    return decorator


def for_roles(*roles: Role) -> Callable[[H], H]:
    """Mark ``handler`` as usable by ``roles`` only (the check itself is the caller's, as in
    :func:`only` and ``handlers.record_scope.for_mentors``)."""

    def mark(handler: H) -> H:
        handler.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def roles_of(handler: Handler) -> frozenset[Role] | None:
    """The roles that may use ``handler``; None: everyone on the roster."""
    return getattr(handler, "allowed_roles", None)


@dataclass
class Router:
    """Handlers of one feature, by text command, message type, event and card key."""

    name: str
    commands: dict[str, Handler] = field(default_factory=dict)
    message_types: dict[str, Handler] = field(default_factory=dict)
    events: dict[str, Handler] = field(default_factory=dict)
    cards: dict[str, Handler] = field(default_factory=dict)
    menu_keys: dict[str, Handler] = field(default_factory=dict)
    card_keys: dict[str, CardKey[Any]] = field(default_factory=dict)

    def on_command(self, *words: str) -> Callable[[H], H]:
        """A text whose first word is one of ``words`` (``交流 张三 …``)."""
        return self._register(self.commands, words)

    def on_message(self, *msg_types: str) -> Callable[[H], H]:
        """A message of a type: ``image``, ``voice``, ``video``, ``location``, ``link``."""
        return self._register(self.message_types, msg_types)

    def on_event(self, *events: str) -> Callable[[H], H]:
        """An event such as ``enter_agent``."""
        return self._register(self.events, events)

    def on_menu(self, *keys: str) -> Callable[[H], H]:
        """A tap on an app-menu click button with this EventKey."""
        return self._register(self.menu_keys, keys)

    def on_card(self, *keys: CardKey[Any]) -> Callable[[H], H]:
        """A tap or submit on a template card whose EventKey was packed from ``keys``; the
        dispatcher checks the key's fields before the handler runs (``CardKey.unpack``)."""
        for key in keys:
            self.card_keys[key.name] = key
        return self._register(self.cards, tuple(key.name for key in keys))

    @staticmethod
    def _register(table: dict[str, Handler], keys: tuple[str, ...]) -> Callable[[H], H]:
        def decorator(handler: H) -> H:
            for key in keys:
                if key in table:
                    raise ValueError(f"{key!r} already has a handler: {table[key].__name__}")
                table[key] = handler
            return handler

        return decorator


@dataclass
class Dispatcher:
    """All routers, in order, plus the handler for anything unmatched."""

    routers: list[Router]
    fallback: Handler

    def __post_init__(self) -> None:
        for attribute in ("commands", "message_types", "events", "cards", "menu_keys"):
            seen: dict[str, str] = {}
            for router in self.routers:
                for key in getattr(router, attribute):
                    if key in seen:
                        raise ValueError(
                            f"{attribute} {key!r} is claimed by {seen[key]} and {router.name}"
                        )
                    seen[key] = router.name

    def card_key(self, name: str) -> CardKey[Any] | None:
        """The ``CardKey`` registered under ``name``."""
        for router in self.routers:
            found = router.card_keys.get(name)
            if found is not None:
                return found
        return None

    def commands_for(self, role: Role) -> list[str]:
        """Every text command a person holding ``role`` may use, in registration order."""
        return [
            word
            for router in self.routers
            for word, handler in router.commands.items()
            if roles_of(handler) is None or role in roles_of(handler)  # type: ignore[operator]
        ]

    def find(self, table: str, key: str) -> Handler | None:
        for router in self.routers:
            handler = getattr(router, table).get(key)
            if handler is not None:
                return handler
        return None
