"""Decrypted callback XML → typed, immutable messages and events.

Only the callback's XML is read here (DTDs and entities refused); handlers get these objects
and never see XML. ``parse_message`` raises :class:`MalformedXmlError` for XML that is not a
WeCom message at all; anything well formed but not understood becomes :class:`UnknownMessage`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple
from xml.etree.ElementTree import Element

from bot.wecom.crypto import MalformedXmlError, parse_xml

# Longest dedupe key kept verbatim; longer ones are hashed so they fit every key column.
MAX_PLAIN_KEY = 100


@dataclass(frozen=True, kw_only=True)
class Message:
    """Fields every callback carries."""

    to_user: str
    from_user: str
    create_time: int
    agent_id: int | None
    msg_type: str

    @property
    def dedupe_key(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class UserMessage(Message):
    """A message a person sent (text, image, …), identified by its MsgId."""

    msg_id: str

    @property
    def dedupe_key(self) -> str:
        return _bounded(f"msg:{self.msg_id}")


@dataclass(frozen=True, kw_only=True)
class TextMessage(UserMessage):
    content: str


@dataclass(frozen=True, kw_only=True)
class ImageMessage(UserMessage):
    media_id: str
    pic_url: str


@dataclass(frozen=True, kw_only=True)
class VoiceMessage(UserMessage):
    media_id: str
    format: str


@dataclass(frozen=True, kw_only=True)
class VideoMessage(UserMessage):
    media_id: str
    thumb_media_id: str


@dataclass(frozen=True, kw_only=True)
class LocationMessage(UserMessage):
    latitude: float
    longitude: float
    scale: int
    label: str


@dataclass(frozen=True, kw_only=True)
class LinkMessage(UserMessage):
    title: str
    description: str
    url: str
    pic_url: str


@dataclass(frozen=True, kw_only=True)
class Event(Message):
    """An event; identified by sender, time, event name and key (and TaskId for cards)."""

    event: str
    event_key: str = ""

    def _task_id(self) -> str:
        return ""

    @property
    def dedupe_key(self) -> str:
        return _event_key(
            self.from_user, self.create_time, self.event, self.event_key, self._task_id()
        )


@dataclass(frozen=True, kw_only=True)
class EnterAgentEvent(Event):
    """The person opened the app."""


@dataclass(frozen=True, kw_only=True)
class ClickEvent(Event):
    """A tap on a click button of the app menu; ``event_key`` is the button's key."""


@dataclass(frozen=True, kw_only=True)
class ViewEvent(Event):
    """A tap on a view (link) button of the app menu; ``event_key`` is the URL."""


class SelectedItem(NamedTuple):
    """One answered question of a vote or select card."""

    question_key: str
    option_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TemplateCardEvent(Event):
    """A tap on a template card button, or a vote/select card's submit."""

    task_id: str
    card_type: str
    response_code: str
    selected_items: tuple[SelectedItem, ...] = ()

    def _task_id(self) -> str:
        return self.task_id

    def selected(self, question_key: str) -> tuple[str, ...]:
        """The option ids chosen for ``question_key`` (empty when not answered)."""
        for item in self.selected_items:
            if item.question_key == question_key:
                return item.option_ids
        return ()


@dataclass(frozen=True, kw_only=True)
class TemplateCardMenuEvent(Event):
    """A choice in a card's top-right menu (action_menu): ``event_key`` is the action's key."""

    task_id: str
    card_type: str
    response_code: str

    def _task_id(self) -> str:
        return self.task_id


@dataclass(frozen=True, kw_only=True)
class LocationEvent(Event):
    """The client reported where the person is (上报地理位置, event ``LOCATION``)."""

    latitude: float
    longitude: float
    precision: float


@dataclass(frozen=True, kw_only=True)
class ChangeContactEvent(Event):
    """A change in the contact book (doc 90970), sent from ``sys``: ``change_type`` is
    create_user, update_user or delete_user (or a department or tag change); ``new_user_id`` is
    set when an update changed the member's userid."""

    change_type: str
    user_id: str
    new_user_id: str = ""
    name: str = ""

    def _task_id(self) -> str:  # several changes may share a second: each is its own event
        return f"{self.change_type}:{self.user_id}:{self.new_user_id}"


@dataclass(frozen=True, kw_only=True)
class UnknownMessage(Message):
    """Anything else; ``fields`` holds the top-level text elements as WeCom sent them."""

    event: str = ""
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def dedupe_key(self) -> str:
        msg_id = self.fields.get("MsgId", "")
        if msg_id:
            return _bounded(f"msg:{msg_id}")
        return _event_key(
            self.from_user,
            self.create_time,
            self.event,
            self.fields.get("EventKey", ""),
            self.fields.get("TaskId", ""),
        )


def _bounded(key: str) -> str:
    if len(key) <= MAX_PLAIN_KEY:
        return key
    return key[:4] + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _event_key(from_user: str, create_time: int, event: str, event_key: str, task_id: str) -> str:
    return _bounded(f"evt:{from_user}:{create_time}:{event}:{event_key}:{task_id}")


# -- parsing ------------------------------------------------------------------------------


def parse_message(xml: str | bytes) -> Message:
    """Parse a decrypted callback into its typed message."""
    root = parse_xml(xml)
    text = _Reader(root)
    common = {
        "to_user": text("ToUserName"),
        "from_user": text("FromUserName", required=True),
        "create_time": text.integer("CreateTime", required=True),
        "agent_id": text.integer("AgentID") if text("AgentID") else None,
        "msg_type": text("MsgType", required=True),
    }
    msg_type = common["msg_type"]
    if msg_type == "event":
        return _parse_event(root, text, common)
    if msg_type not in _MESSAGE_PARSERS or not text("MsgId"):
        return UnknownMessage(fields=text.all_fields(), **common)
    return _MESSAGE_PARSERS[msg_type](text, common | {"msg_id": text("MsgId")})


def _parse_event(root: Element, text: _Reader, common: dict) -> Message:
    event = text("Event")
    key = text("EventKey")
    if event == "enter_agent":
        return EnterAgentEvent(event=event, event_key=key, **common)
    if event == "click":
        return ClickEvent(event=event, event_key=key, **common)
    if event == "view":
        return ViewEvent(event=event, event_key=key, **common)
    if event == "template_card_event":
        return TemplateCardEvent(
            event=event,
            event_key=key,
            task_id=text("TaskId"),
            card_type=text("CardType"),
            response_code=text("ResponseCode"),
            selected_items=_selected_items(root),
            **common,
        )
    if event == "template_card_menu_event":
        return TemplateCardMenuEvent(
            event=event,
            event_key=key,
            task_id=text("TaskId"),
            card_type=text("CardType"),
            response_code=text("ResponseCode"),
            **common,
        )
    if event == "LOCATION":
        return LocationEvent(
            event=event,
            latitude=text.number("Latitude"),
            longitude=text.number("Longitude"),
            precision=text.number("Precision"),
            **common,
        )
    if event == "change_contact":
        return ChangeContactEvent(
            event=event,
            change_type=text("ChangeType"),
            user_id=text("UserID"),
            new_user_id=text("NewUserID"),
            name=text("Name"),
            **common,
        )
    return UnknownMessage(event=event, fields=text.all_fields(), **common)


def _selected_items(root: Element) -> tuple[SelectedItem, ...]:
    """SelectedItems/SelectedItem*/(QuestionKey, OptionIds/OptionId*), always as sequences."""
    container = root.find("SelectedItems")
    if container is None:
        return ()
    items = []
    for item in container.findall("SelectedItem"):
        question = item.find("QuestionKey")
        options = item.find("OptionIds")
        option_ids = () if options is None else options.findall("OptionId")
        items.append(
            SelectedItem(
                question_key=_node_text(question),
                option_ids=tuple(_node_text(option) for option in option_ids),
            )
        )
    return tuple(items)


def _text_message(text: _Reader, common: dict) -> Message:
    return TextMessage(content=text("Content"), **common)


def _image_message(text: _Reader, common: dict) -> Message:
    return ImageMessage(media_id=text("MediaId"), pic_url=text("PicUrl"), **common)


def _voice_message(text: _Reader, common: dict) -> Message:
    return VoiceMessage(media_id=text("MediaId"), format=text("Format"), **common)


def _video_message(text: _Reader, common: dict) -> Message:
    return VideoMessage(media_id=text("MediaId"), thumb_media_id=text("ThumbMediaId"), **common)


def _location_message(text: _Reader, common: dict) -> Message:
    return LocationMessage(
        latitude=text.number("Location_X"),
        longitude=text.number("Location_Y"),
        scale=text.integer("Scale") if text("Scale") else 0,
        label=text("Label"),
        **common,
    )


def _link_message(text: _Reader, common: dict) -> Message:
    return LinkMessage(
        title=text("Title"),
        description=text("Description"),
        url=text("Url"),
        pic_url=text("PicUrl"),
        **common,
    )


_MESSAGE_PARSERS = {
    "text": _text_message,
    "image": _image_message,
    "voice": _voice_message,
    "video": _video_message,
    "location": _location_message,
    "link": _link_message,
}


def _node_text(node: Element | None) -> str:
    return "" if node is None else (node.text or "").strip()


class _Reader:
    """Reads the text of top-level elements, with typed conversions that raise cleanly."""

    def __init__(self, root: Element) -> None:
        self.root = root

    def __call__(self, tag: str, *, required: bool = False) -> str:
        value = _node_text(self.root.find(tag))
        if required and not value:
            raise MalformedXmlError(f"missing {tag}")
        return value

    def integer(self, tag: str, *, required: bool = False) -> int:
        value = self(tag, required=required)
        if not value.isascii() or not value.lstrip("-").isdigit() or len(value) > 20:
            raise MalformedXmlError(f"{tag} is not an integer")
        return int(value)

    def number(self, tag: str) -> float:
        value = self(tag)
        try:
            return float(value) if value else 0.0
        except ValueError:
            raise MalformedXmlError(f"{tag} is not a number") from None

    def all_fields(self) -> Mapping[str, str]:
        return MappingProxyType(
            {child.tag: (child.text or "").strip() for child in self.root if len(child) == 0}
        )
