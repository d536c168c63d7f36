"""The app menu (应用菜单) as WeCom shows it; every click key has a handler.

WeCom allows at most 3 top-level buttons and 5 sub-buttons under each (menu/create refuses
more). 记录 holds the four most frequent kinds and 其他记录, a card listing the rest, so every
kind is two taps from the menu; a mentor's own records are under 我的.
"""

from __future__ import annotations

from typing import Any

from handlers import cycle, progress, record_flow, record_list
from handlers import help as help_handlers

MENU: list[dict[str, Any]] = [
    {
        "name": "记录",
        "sub_button": [
            {"type": "click", "name": "个别交流", "key": record_flow.MENU_CONTACT},
            {"type": "click", "name": "集体活动", "key": record_flow.MENU_ACTIVITY},
            {"type": "click", "name": "沟通谈话", "key": record_flow.MENU_TALK},
            {"type": "click", "name": "关爱记录", "key": record_flow.MENU_CARE},
            # a card of the kinds below: plans, summaries, publicity, academy, resources
            {"type": "click", "name": "其他记录", "key": record_flow.MENU_OTHER},
        ],
    },
    {
        "name": "我的",
        "sub_button": [
            {"type": "click", "name": "本周进度", "key": progress.MENU_MINE},
            {"type": "click", "name": "我的记录", "key": record_list.MENU_LIST},
            {"type": "click", "name": "我的考核", "key": cycle.MENU_MY_ASSESSMENT},
        ],
    },
    {"type": "click", "name": "帮助", "key": help_handlers.MENU_HELP},
]


# WeCom's menu/create limits (document 90231): 1–3 buttons, 1–5 sub-buttons each; names at
# most 16 bytes (top level) or 40 (sub-buttons); click keys at most 128 bytes; view buttons
# need a web link.
MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_TOP_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 40
MAX_KEY_BYTES = 128


def check_menu(menu: list[dict[str, Any]]) -> None:
    """Raise ValueError naming the first of WeCom's menu limits ``menu`` breaks."""
    if not 1 <= len(menu) <= MAX_BUTTONS:
        raise ValueError(f"菜单有 {len(menu)} 个一级按钮，企业微信最多允许 {MAX_BUTTONS} 个")
    keys = click_keys(menu)
    if len(set(keys)) != len(keys):
        raise ValueError("菜单按钮的 key 重复")
    for button in menu:
        _check_name(button["name"], MAX_TOP_NAME_BYTES)
        subs = button.get("sub_button")
        if subs is None:
            _check_leaf(button)
            continue
        if not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise ValueError(
                f"“{button['name']}”下有 {len(subs)} 个子按钮，"
                f"企业微信最多允许 {MAX_SUB_BUTTONS} 个"
            )
        for sub in subs:
            _check_name(sub["name"], MAX_SUB_NAME_BYTES)
            _check_leaf(sub)


def _check_name(name: str, limit: int) -> None:
    if not name or len(name.encode("utf-8")) > limit:
        raise ValueError(f"菜单名称“{name}”为空或超过 {limit} 字节")


def _check_leaf(button: dict[str, Any]) -> None:
    if button.get("type") == "view":
        if not str(button.get("url", "")).startswith(("http://", "https://")):
            raise ValueError(f"菜单按钮“{button['name']}”的链接无效")
        return
    if button.get("type") != "click":
        raise ValueError(f"菜单按钮“{button['name']}”的类型不是 click 或 view")
    key = button.get("key") or ""
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"菜单按钮“{button['name']}”的 key 为空或超过 {MAX_KEY_BYTES} 字节")


def menu_definition() -> dict[str, Any]:
    """The body of WeCom's menu/create call (checked against WeCom's limits first)."""
    check_menu(MENU)
    return {"button": MENU}


def click_keys(menu: list[dict[str, Any]] = MENU) -> list[str]:
    keys = []
    for button in menu:
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("type") == "click":
                keys.append(leaf["key"])
    return keys
