"""WeCom's size limits for what the app sends, as data, and the shaper that keeps to them.

The numbers are those of the "发送应用消息" documentation (path 90236): text and markdown
content at most 2,048 bytes; a textcard's title 128 bytes, description 512 bytes, button text
4 characters; a news article's title 128 bytes, description 512 bytes; links 2,048 bytes; a
template card's task_id 128 bytes, option ids 128 bytes, question and button keys 1,024 bytes.
Where the documentation counts bytes, bytes are counted (UTF-8); where it counts characters,
characters. A template card's texts have only recommended lengths; see ``_CARD``.

:func:`shape` returns a payload that keeps every limit: a text that is too long is cut at a
UTF-8 character boundary and ends with "…". Ids and links are ours and are never cut: one that
is too long is a programming error and raises :class:`LimitError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

ELLIPSIS = "…"


class Unit(Enum):
    BYTES = "bytes"  # UTF-8 bytes
    CHARS = "chars"  # characters (code points)


class LimitError(ValueError):
    """An id or link of ours is longer than WeCom accepts (a programming error)."""


@dataclass(frozen=True)
class Limit:
    """At most ``size`` ``unit`` at ``path`` (dotted, ``[]`` standing for each element of a
    list: ``horizontal_content_list[].keyname``); ``cut`` False for ids and links, which are
    refused rather than cut."""

    path: str
    size: int
    unit: Unit
    cut: bool = True
    recommended: int | None = None  # characters the documentation recommends (not enforced)


BYTES, CHARS = Unit.BYTES, Unit.CHARS

TEXT_CONTENT_BYTES = 2048
MARKDOWN_CONTENT_BYTES = 2048
TASK_ID_BYTES = 128
OPTION_ID_BYTES = 128
KEY_BYTES = 1024  # question_key, button key, submit key
URL_BYTES = 2048


def _id(path: str, size: int) -> Limit:
    return Limit(path, size, BYTES, cut=False)


# A template card's texts have only recommended lengths ("建议不超过N个字"; the documentation
# gives no maximum and no error for longer ones), and today's cards exceed several of them
# (a college's scoring card title is 27 characters, the student picker's desc is several
# lines of help). So each is cut at a ceiling instead: WeCom's own maxima for the same roles
# in a textcard, 128 bytes for a title or label and 512 bytes for a description; the
# recommendation is kept beside it, in characters.
CARD_LABEL_BYTES = 128
CARD_TEXT_BYTES = 512
# what the client shows of a card's main_title.desc: the documentation recommends at most 44
# characters ("建议不超过44个字") and WeCom cuts a longer one about there, so anything that must
# be read whole (the student picker's chosen list) goes where it is not cut
MAIN_TITLE_DESC_SHOWN = 44


def _label(path: str, recommended: int | None = None) -> Limit:
    return Limit(path, CARD_LABEL_BYTES, BYTES, recommended=recommended)


def _text(path: str, recommended: int | None = None) -> Limit:
    return Limit(path, CARD_TEXT_BYTES, BYTES, recommended=recommended)


_CARD = (
    _label("source.desc", 13),
    _label("main_title.title", 26),
    _text("main_title.desc", MAIN_TITLE_DESC_SHOWN),
    _label("emphasis_content.title", 10),
    _label("emphasis_content.desc", 15),
    _label("quote_area.title"),
    _text("quote_area.quote_text"),
    _text("sub_title_text", 112),
    _label("horizontal_content_list[].keyname", 5),
    _label("horizontal_content_list[].value", 26),
    _label("vertical_content_list[].title", 26),
    _text("vertical_content_list[].desc", 112),
    _label("jump_list[].title", 13),
    _label("image_text_area.title"),
    _text("image_text_area.desc"),
    _label("button_list[].text", 10),
    _label("checkbox.option_list[].text", 11),
    _label("select_list[].title"),
    _label("select_list[].option_list[].text", 16),
    _label("submit_button.text", 10),
    _label("replace_text"),
    _id("task_id", TASK_ID_BYTES),
    _id("button_list[].key", KEY_BYTES),
    _id("checkbox.question_key", KEY_BYTES),
    _id("checkbox.option_list[].id", OPTION_ID_BYTES),
    _id("select_list[].question_key", KEY_BYTES),
    _id("select_list[].option_list[].id", OPTION_ID_BYTES),
    _id("submit_button.key", KEY_BYTES),
    _id("card_action.url", URL_BYTES),
    _id("horizontal_content_list[].url", URL_BYTES),
    _id("jump_list[].url", URL_BYTES),
    _id("image_text_area.url", URL_BYTES),
    _id("quote_area.url", URL_BYTES),
)

LIMITS: dict[str, tuple[Limit, ...]] = {
    "text": (Limit("content", TEXT_CONTENT_BYTES, BYTES),),
    "markdown": (Limit("content", MARKDOWN_CONTENT_BYTES, BYTES),),
    "textcard": (
        Limit("title", 128, BYTES),
        Limit("description", 512, BYTES),
        Limit("btntxt", 4, CHARS),
        _id("url", URL_BYTES),
    ),
    "news": (
        Limit("articles[].title", 128, BYTES),
        Limit("articles[].description", 512, BYTES),
        _id("articles[].url", URL_BYTES),
        _id("articles[].picurl", URL_BYTES),
    ),
    "template_card": _CARD,
    # the body of message/update_template_card: a whole new card, or a button's new text
    "update_template_card": (
        *(
            Limit(
                f"template_card.{limit.path}", limit.size, limit.unit, limit.cut, limit.recommended
            )
            for limit in _CARD
        ),
        _label("button.replace_name"),
    ),
}


def size_of(text: str, unit: Unit) -> int:
    return len(text.encode("utf-8")) if unit is BYTES else len(text)


def cut(text: str, size: int, unit: Unit = BYTES) -> str:
    """``text`` if it fits ``size``; else its longest beginning that fits with "…" after it,
    cut at a character boundary (never inside a multi-byte UTF-8 sequence)."""
    if size_of(text, unit) <= size:
        return text
    room = size - size_of(ELLIPSIS, unit)
    if unit is CHARS:
        return text[: max(room, 0)] + ELLIPSIS
    # bytes cut at ``room`` may end inside a character: drop that partial character
    kept = text.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
    return kept + ELLIPSIS


def shape(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (``{"msgtype": t, t: {...}}``) within WeCom's limits: too-long texts cut,
    too-long ids and links refused with :class:`LimitError`. ``payload`` is not changed; the
    result shares every part that needed no cut."""
    msgtype = payload.get("msgtype")
    limits = LIMITS.get(msgtype) if isinstance(msgtype, str) else None
    body = payload.get(msgtype) if limits else None
    if not limits or not isinstance(body, dict):
        return payload
    for limit in limits:
        body = _apply(body, limit.path.split("."), limit, f"{msgtype}.{limit.path}")
    return {**payload, msgtype: body}


def _apply(node: Any, steps: Sequence[str], limit: Limit, where: str) -> Any:
    """``node`` with ``limit`` applied at ``steps`` below it (copied only where changed)."""
    step, rest = steps[0], steps[1:]
    name, each = step.removesuffix("[]"), step.endswith("[]")
    if not isinstance(node, dict) or name not in node:
        return node
    value = node[name]
    if each:
        if not isinstance(value, list):
            return node
        new = [
            _apply(item, rest, limit, where) if rest else _fit(item, limit, where) for item in value
        ]
    elif rest:
        new = _apply(value, rest, limit, where)
    else:
        new = _fit(value, limit, where)
    return node if new is value or new == value else {**node, name: new}


def _fit(value: Any, limit: Limit, where: str) -> Any:
    if not isinstance(value, str) or size_of(value, limit.unit) <= limit.size:
        return value
    if not limit.cut:
        raise LimitError(
            f"{where} is {size_of(value, limit.unit)} {limit.unit.value}; "
            f"WeCom allows at most {limit.size}"
        )
    return cut(value, limit.size, limit.unit)
