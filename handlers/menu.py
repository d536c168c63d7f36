"""The app menu (应用菜单) as WeCom shows it; every click key has a handler."""

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
            {"type": "click", "name": "我的记录", "key": record_list.MENU_LIST},
        ],
    },
    {
        "name": "我的",
        "sub_button": [
            {"type": "click", "name": "本周进度", "key": progress.MENU_MINE},
            {"type": "click", "name": "我的考核", "key": cycle.MENU_MY_ASSESSMENT},
        ],
    },
    {"type": "click", "name": "帮助", "key": help_handlers.MENU_HELP},
]


def menu_definition() -> dict[str, Any]:
    """The body of WeCom's menu/create call."""
    return {"button": MENU}


def click_keys(menu: list[dict[str, Any]] = MENU) -> list[str]:
    keys = []
    for button in menu:
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("type") == "click":
                keys.append(leaf["key"])
    return keys
