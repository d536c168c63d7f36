"""Template card builders (模板卡片) and WeCom's content limits.

Each builder returns the ``template_card`` object of a message/send body as a plain dict and
raises ValueError, with a message naming the broken rule, for anything WeCom would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.wecom import limits

MAX_CONTENT_BYTES = limits.TEXT_CONTENT_BYTES
MAX_TASK_ID_BYTES = limits.TASK_ID_BYTES
MAX_KEY_BYTES = limits.KEY_BYTES
MAX_OPTION_ID_BYTES = limits.OPTION_ID_BYTES
MAX_BUTTONS = 6
MAX_VOTE_OPTIONS = 20
MAX_SELECTS = 3
MAX_SELECT_OPTIONS = 10
BUTTON_STYLES = (1, 2, 3, 4)

_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]+")


@dataclass(frozen=True)
class Button:
    """A button of a button_interaction card; ``style`` 1–4 (1 blue … 4 grey)."""

    key: str
    text: str
    style: int = 1


@dataclass(frozen=True)
class Option:
    """One choice of a vote or select card."""

    id: str
    text: str
    checked: bool = False


@dataclass(frozen=True)
class Select:
    """One drop-down question of a multiple_interaction card."""

    question_key: str
    title: str
    options: Sequence[Option]
    selected_id: str | None = None


# -- limits -------------------------------------------------------------------------------


def check_content(text: str, *, limit: int = MAX_CONTENT_BYTES, what: str = "content") -> str:
    """``text`` unchanged if it is non-empty and at most ``limit`` UTF-8 bytes."""
    if not text:
        raise ValueError(f"{what} must not be empty")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise ValueError(f"{what} is {size} bytes; WeCom allows at most {limit}")
    return text


def check_task_id(task_id: str) -> str:
    """``task_id`` unchanged if WeCom accepts it: letters, digits, ``_-@``, 1–128 bytes."""
    if not task_id:
        raise ValueError("task_id must not be empty")
    if len(task_id.encode("utf-8")) > MAX_TASK_ID_BYTES:
        raise ValueError(f"task_id is longer than {MAX_TASK_ID_BYTES} bytes")
    if not _TASK_ID.fullmatch(task_id) or not task_id.isascii():
        raise ValueError("task_id may only contain letters, digits, '_', '-' and '@'")
    return task_id


def _check_key(key: str, what: str, limit: int = MAX_KEY_BYTES) -> str:
    if not key:
        raise ValueError(f"{what} must not be empty")
    if len(key.encode("utf-8")) > limit:
        raise ValueError(f"{what} is longer than {limit} bytes")
    return key


def _check_unique(values: Sequence[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must be unique")


def fit_desc(
    lines: Sequence[str], *, shown: int = limits.MAIN_TITLE_DESC_SHOWN
) -> tuple[str, bool]:
    """The lines, in order, that WeCom shows whole in a card's ``main_title.desc`` (at most
    ``shown`` characters, a line break counting one), and whether any line was left out (a
    line too long for the room left is skipped; shorter ones after it may still fit)."""
    kept: list[str] = []
    used = 0
    for line in lines:
        need = len(line) + (1 if kept else 0)
        if used + need <= shown:
            kept.append(line)
            used += need
    return "\n".join(kept), len(kept) < len(lines)


# -- shared parts -------------------------------------------------------------------------


def _base(
    card_type: str,
    title: str,
    *,
    desc: str,
    task_id: str | None,
    sub_title: str,
    fields: Sequence[tuple[str, str]],
    source: str,
) -> dict[str, Any]:
    if not title:
        raise ValueError("title must not be empty")
    card: dict[str, Any] = {"card_type": card_type, "main_title": {"title": title}}
    if desc:
        card["main_title"]["desc"] = desc
    if source:
        card["source"] = {"desc": source}
    if sub_title:
        card["sub_title_text"] = sub_title
    if fields:
        if len(fields) > 6:
            raise ValueError("at most 6 horizontal fields")
        card["horizontal_content_list"] = [
            {"keyname": name, "value": value} for name, value in fields
        ]
    if task_id is not None:
        card["task_id"] = check_task_id(task_id)
    return card


def _url_action(url: str) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    return {"type": 1, "url": url}


def _options(options: Sequence[Option], limit: int, what: str) -> list[dict[str, Any]]:
    if not options:
        raise ValueError(f"{what} needs at least one option")
    if len(options) > limit:
        raise ValueError(f"{what} allows at most {limit} options, got {len(options)}")
    _check_unique([option.id for option in options], f"{what} option ids")
    result = []
    for option in options:
        _check_key(option.id, "option id", MAX_OPTION_ID_BYTES)
        if not option.text:
            raise ValueError("option text must not be empty")
        result.append({"id": option.id, "text": option.text, "is_checked": option.checked})
    return result


def _submit(key: str, text: str) -> dict[str, str]:
    if not text:
        raise ValueError("submit text must not be empty")
    return {"text": text, "key": _check_key(key, "submit key")}


# -- the five card types ------------------------------------------------------------------


def text_notice(
    title: str,
    *,
    url: str,
    desc: str = "",
    task_id: str | None = None,
    sub_title: str = "",
    emphasis: tuple[str, str] | None = None,
    fields: Sequence[tuple[str, str]] = (),
    source: str = "",
) -> dict[str, Any]:
    """文本通知型: a notice whose tap opens ``url``; ``emphasis`` is (big value, caption)."""
    card = _base(
        "text_notice",
        title,
        desc=desc,
        task_id=task_id,
        sub_title=sub_title,
        fields=fields,
        source=source,
    )
    if emphasis is not None:
        card["emphasis_content"] = {"title": emphasis[0], "desc": emphasis[1]}
    card["card_action"] = _url_action(url)
    return card


def news_notice(
    title: str,
    *,
    url: str,
    image_url: str,
    desc: str = "",
    task_id: str | None = None,
    aspect_ratio: float = 2.25,
    fields: Sequence[tuple[str, str]] = (),
    source: str = "",
) -> dict[str, Any]:
    """图文展示型: a notice with a picture whose tap opens ``url``."""
    card = _base(
        "news_notice",
        title,
        desc=desc,
        task_id=task_id,
        sub_title="",
        fields=fields,
        source=source,
    )
    if not image_url.startswith(("http://", "https://")):
        raise ValueError("image_url must start with http:// or https://")
    if not 1.3 <= aspect_ratio <= 2.25:
        raise ValueError("aspect_ratio must be between 1.3 and 2.25")
    card["card_image"] = {"url": image_url, "aspect_ratio": aspect_ratio}
    card["card_action"] = _url_action(url)
    return card


def button_interaction(
    title: str,
    *,
    task_id: str,
    buttons: Sequence[Button],
    desc: str = "",
    sub_title: str = "",
    fields: Sequence[tuple[str, str]] = (),
    source: str = "",
    url: str | None = None,
    replace_text: str = "",
) -> dict[str, Any]:
    """按钮交互型: up to 6 buttons; a tap arrives as template_card_event with the key."""
    card = _base(
        "button_interaction",
        title,
        desc=desc,
        task_id=task_id,
        sub_title=sub_title,
        fields=fields,
        source=source,
    )
    if not buttons:
        raise ValueError("button_interaction needs at least one button")
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"button_interaction allows at most {MAX_BUTTONS} buttons")
    _check_unique([button.key for button in buttons], "button keys")
    button_list = []
    for button in buttons:
        if not button.text:
            raise ValueError("button text must not be empty")
        if button.style not in BUTTON_STYLES:
            raise ValueError("button style must be 1, 2, 3 or 4")
        _check_key(button.key, "button key")
        button_list.append({"text": button.text, "style": button.style, "key": button.key})
    card["button_list"] = button_list
    if url is not None:
        card["card_action"] = _url_action(url)
    if replace_text:
        card["replace_text"] = replace_text
    return card


def vote_interaction(
    title: str,
    *,
    task_id: str,
    question_key: str,
    options: Sequence[Option],
    submit_key: str,
    submit_text: str = "提交",
    multiple: bool = False,
    desc: str = "",
    source: str = "",
    replace_text: str = "",
) -> dict[str, Any]:
    """投票选择型: one question, up to 20 options (single or multiple choice), a submit."""
    card = _base(
        "vote_interaction",
        title,
        desc=desc,
        task_id=task_id,
        sub_title="",
        fields=(),
        source=source,
    )
    option_list = _options(options, MAX_VOTE_OPTIONS, "vote_interaction")
    if not multiple and sum(option.checked for option in options) > 1:
        raise ValueError("a single-choice vote can pre-check at most one option")
    card["checkbox"] = {
        "question_key": _check_key(question_key, "question_key"),
        "option_list": option_list,
        "mode": 1 if multiple else 0,
    }
    card["submit_button"] = _submit(submit_key, submit_text)
    if replace_text:
        card["replace_text"] = replace_text
    return card


def multiple_interaction(
    title: str,
    *,
    task_id: str,
    selects: Sequence[Select],
    submit_key: str,
    submit_text: str = "提交",
    desc: str = "",
    source: str = "",
    replace_text: str = "",
) -> dict[str, Any]:
    """多项选择型: up to 3 drop-down questions of up to 10 options each, and a submit."""
    card = _base(
        "multiple_interaction",
        title,
        desc=desc,
        task_id=task_id,
        sub_title="",
        fields=(),
        source=source,
    )
    if not selects:
        raise ValueError("multiple_interaction needs at least one select")
    if len(selects) > MAX_SELECTS:
        raise ValueError(f"multiple_interaction allows at most {MAX_SELECTS} selects")
    _check_unique([select.question_key for select in selects], "question keys")
    select_list = []
    for select in selects:
        item: dict[str, Any] = {
            "question_key": _check_key(select.question_key, "question_key"),
            "title": select.title,
            "option_list": [
                {"id": option["id"], "text": option["text"]}
                for option in _options(select.options, MAX_SELECT_OPTIONS, "select")
            ],
        }
        if select.selected_id is not None:
            if select.selected_id not in {option.id for option in select.options}:
                raise ValueError("selected_id must be one of the select's option ids")
            item["selected_id"] = select.selected_id
        select_list.append(item)
    card["select_list"] = select_list
    card["submit_button"] = _submit(submit_key, submit_text)
    if replace_text:
        card["replace_text"] = replace_text
    return card
