"""What WeCom refuses, as the fake API checks it: errcodes, message and card structure, menus.

Each rule follows WeCom's documentation (message/send, doc 90236; template cards; menu/create).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_RECIPIENTS = 1000
MAX_CONTENT_BYTES = 2048
MAX_DUPLICATE_CHECK_INTERVAL = 4 * 3600
DEFAULT_DUPLICATE_CHECK_INTERVAL = 1800

MSG_TYPES = ("text", "markdown", "textcard", "news", "image", "file", "voice", "video")
CARD_TYPES = (
    "text_notice",
    "news_notice",
    "button_interaction",
    "vote_interaction",
    "multiple_interaction",
)
INTERACTIVE = ("button_interaction", "vote_interaction", "multiple_interaction")
MEDIA_LIMITS = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")


class ApiError(Exception):
    """An errcode answer (HTTP 200, like WeCom)."""

    def __init__(self, errcode: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": self.errmsg, **self.extra}


def json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(47001, "data format error") from None
    if not isinstance(data, dict):
        raise ApiError(47001, "data format error")
    return data


def require_str(obj: Any, name: str, where: str, *, max_bytes: int | None = None) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise ApiError(40058, f"{where}.{name} is required")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise ApiError(40058, f"{where}.{name} is too long")
    return value


def require_list(obj: dict[str, Any], name: str, where: str, low: int, high: int) -> list[Any]:
    value = obj.get(name)
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise ApiError(40058, f"{where}.{name} must hold {low} to {high} items")
    return value


def check_duplicate_options(data: dict[str, Any]) -> None:
    if data.get("enable_duplicate_check"):
        interval = data.get("duplicate_check_interval", DEFAULT_DUPLICATE_CHECK_INTERVAL)
        if not isinstance(interval, int) or not 0 < interval <= MAX_DUPLICATE_CHECK_INTERVAL:
            raise ApiError(40058, "duplicate_check_interval must be at most 4 hours")


def validate_card(card: dict[str, Any]) -> None:
    """The structure WeCom requires of each card type (doc 90236, 模板卡片消息)."""
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ApiError(40058, "template_card.card_type is invalid")
    title = card.get("main_title")
    has_title = isinstance(title, dict) and isinstance(title.get("title"), str) and title["title"]
    if card_type == "text_notice":
        if not has_title and not card.get("sub_title_text"):
            raise ApiError(40058, "main_title.title or sub_title_text is required")
    elif not has_title:
        raise ApiError(40058, "template_card.main_title.title is required")
    if card_type in ("text_notice", "news_notice") or "card_action" in card:
        validate_card_action(card.get("card_action"))
    if card_type == "news_notice" and not isinstance(
        card.get("card_image") or card.get("image_text_area"), dict
    ):
        raise ApiError(40058, "news_notice needs card_image or image_text_area")
    if card_type == "button_interaction":
        for button in require_list(card, "button_list", "template_card", 1, 6):
            require_str(button, "text", "button_list[]")
            require_str(button, "key", "button_list[]", max_bytes=1024)
            if button.get("style", 1) not in (1, 2, 3, 4):
                raise ApiError(40058, "button_list[].style must be 1 to 4")
        unique([button["key"] for button in card["button_list"]], "button_list[].key")
    elif card_type == "vote_interaction":
        checkbox = card.get("checkbox")
        if not isinstance(checkbox, dict):
            raise ApiError(40058, "vote_interaction needs checkbox")
        require_str(checkbox, "question_key", "checkbox", max_bytes=1024)
        validate_options(require_list(checkbox, "option_list", "checkbox", 1, 20), "checkbox")
        if checkbox.get("mode", 0) not in (0, 1):
            raise ApiError(40058, "checkbox.mode must be 0 or 1")
        validate_submit(card)
    elif card_type == "multiple_interaction":
        selects = require_list(card, "select_list", "template_card", 1, 3)
        for select in selects:
            require_str(select, "question_key", "select_list[]", max_bytes=1024)
            options = require_list(select, "option_list", "select_list[]", 1, 10)
            validate_options(options, "select_list[]")
        unique([select["question_key"] for select in selects], "select_list[].question_key")
        validate_submit(card)


def validate_card_action(action: Any) -> None:
    # text_notice and news_notice: "取值范围为[1,2]" (1 opens url, 2 a mini program); doc 90313:
    # 42045 Template_Card.card_action 缺失或不合法
    if not isinstance(action, dict) or action.get("type") not in (1, 2):
        raise ApiError(42045, "card_action.type must be 1 or 2")
    try:
        if action["type"] == 1:
            url = require_str(action, "url", "card_action")
            if not url.startswith(("http://", "https://")):
                raise ApiError(42045, "card_action.url is invalid")
        if action["type"] == 2:
            require_str(action, "appid", "card_action")
    except ApiError as refused:
        raise ApiError(42045, refused.errmsg) from None


def validate_options(options: list[Any], where: str) -> None:
    for option in options:
        require_str(option, "id", f"{where}.option_list[]", max_bytes=128)
        require_str(option, "text", f"{where}.option_list[]")
    unique([option["id"] for option in options], f"{where}.option_list[].id")


def validate_submit(card: dict[str, Any]) -> None:
    submit = card.get("submit_button")
    require_str(submit, "text", "submit_button")
    require_str(submit, "key", "submit_button", max_bytes=1024)


def unique(values: list[str], where: str) -> None:
    if len(set(values)) != len(values):
        raise ApiError(40058, f"{where} must be unique")


def validate_menu(menu: dict[str, Any]) -> None:
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016, "invalid button count")
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("name"), str):
            raise ApiError(40058, "button.name is required")
        subs = button.get("sub_button")
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                raise ApiError(40016, "invalid sub_button count")
            for sub in subs:
                validate_menu_leaf(sub)
        else:
            validate_menu_leaf(button)


def validate_menu_leaf(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("name"), str):
        raise ApiError(40058, "button.name is required")
    kind = button.get("type")
    if kind == "click":
        require_str(button, "key", "button")
    elif kind == "view":
        require_str(button, "url", "button")
    else:
        raise ApiError(40058, "button.type must be click or view")
