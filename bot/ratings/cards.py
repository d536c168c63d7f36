"""The rating card, its update after a tap, and every short answer, in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.chat.router import STALE_CARD, CardKey
from bot.core.models import RecordKind
from bot.outbox.queue import Message
from bot.ratings.rules import CHOICES, DID_NOT_ATTEND, TapOutcome
from bot.wecom import cards


@dataclass(frozen=True)
class RateTap:
    record_id: int
    choice: str  # a level 1–5 or DID_NOT_ATTEND (rules.parse_choice)


RATE = CardKey("rate", RateTap)

SOURCE = "全生异科导师"


def when_text(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def describe(
    kind: RecordKind, mentor_name: str, title: str, at: datetime, zone: ZoneInfo
) -> tuple[str, list[tuple[str, str]], str]:
    """The heading, the fields (who, what, when) and the question of a rating request."""
    local = at.astimezone(zone)
    if kind == RecordKind.MONTHLY_GUIDANCE:
        heading = "月度指导评价"
        fields = [
            ("导师", mentor_name),
            ("内容", f"{local.month}月个别指导"),
            ("月份", f"{local.year}年{local.month}月"),
        ]
        # the month by name: the card may arrive in the next month, when 本月 would mislead
        ask = f"请评价{mentor_name}老师{local.month}月对您的个别指导"
    else:
        heading = "活动评价"
        fields = [
            ("导师", mentor_name),
            ("活动", title or "集体活动"),
            ("时间", when_text(at, zone)),
        ]
        ask = "请评价您参加的这次活动"
    return heading, fields, ask


def rating_card(
    *,
    task_id: str,
    record_id: int,
    kind: RecordKind,
    mentor_name: str,
    title: str,
    at: datetime,
    deadline: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """One card for every participant: who, what, when; five levels and 我没参加."""
    heading, fields, ask = describe(kind, mentor_name, title, at, zone)
    end = deadline.astimezone(zone)
    return cards.button_interaction(
        heading,
        desc=ask,
        sub_title=f"评价匿名，导师只能看到汇总。{end.month}月{end.day}日前有效，只能选一次。",
        fields=[(name, value[:40]) for name, value in fields],
        source=SOURCE,
        task_id=task_id,
        buttons=[
            cards.Button(RATE.pack(record_id, choice), text, 4 if choice == DID_NOT_ATTEND else 1)
            for choice, text in CHOICES.items()
        ],
    )


def rating_textcard(
    *,
    url: str,
    kind: RecordKind,
    mentor_name: str,
    title: str,
    at: datetime,
    deadline: datetime,
    zone: ZoneInfo,
) -> Message:
    """The same request as a textcard linking the rating page (``/m/rate/<record>``): what
    people who read WeCom through WeChat (微信插件) see, since template cards do not show."""
    heading, fields, ask = describe(kind, mentor_name, title, at, zone)
    end = deadline.astimezone(zone)
    lines = [ask, *(f"{name}：{value[:40]}" for name, value in fields)]
    lines.append(f"评价匿名，导师只能看到汇总。{end.month}月{end.day}日前有效，只能评一次。")
    return Message.textcard(heading, "\n".join(lines), url, "去评价")


def rate_url(base_url: str, record_id: int) -> str:
    return f"{base_url.rstrip('/')}/m/rate/{record_id}"


def answered_text(choice: int) -> str:
    """The card's button row after a tap: the choice and a thank-you."""
    if choice == DID_NOT_ATTEND:
        return "已记录：我没参加，谢谢告知"
    return f"已评价：{CHOICES[choice]}，谢谢！"


REFUSALS: dict[TapOutcome, str] = {
    TapOutcome.ALREADY_ANSWERED: "您已经评价过这项活动了，每项只能评价一次，本次点选未记录。",
    TapOutcome.CLOSED: "这项活动的评价已截止，本次点选未记录。",
    TapOutcome.RESULTS_FIXED: (
        "这项活动所在学年的导师考核结果已经公示，学生评价已截止，本次点选未记录。"
    ),
    TapOutcome.NOT_PARTICIPANT: "只有参加这项活动的同学才能评价，本次点选未记录。",
    TapOutcome.INVALID: STALE_CARD,
}


def reminder_text(
    *,
    kind: RecordKind,
    mentor_name: str,
    title: str,
    at: datetime,
    deadline: datetime,
    zone: ZoneInfo,
    page_url: str = "",
) -> str:
    """The one reminder; ``page_url`` for those asked on the rating page (no card)."""
    end = deadline.astimezone(zone)
    if kind == RecordKind.MONTHLY_GUIDANCE:
        what = f"{mentor_name}老师{at.astimezone(zone).month}月的个别指导"
    else:
        what = f"{mentor_name}老师的「{title or '集体活动'}」（{when_text(at, zone)}）"
    where = (
        f"请打开评价页面 {page_url} 选择一项" if page_url else "请在之前收到的评价卡片上点选一项"
    )
    return (
        f"提醒：您还没有评价{what}。{where}，"
        f"{end.month}月{end.day}日前有效。评价匿名，导师只能看到汇总。"
    )


def flagged_text(
    *, mentor_name: str, title: str, at: datetime, denials: int, zone: ZoneInfo
) -> str:
    return (
        f"请核实：{mentor_name}老师记录的「{title or '集体活动'}」（{when_text(at, zone)}）"
        f"已有 {denials} 名参加者在评价卡片中表示“我没参加”。"
        "该记录已标记，请学院核实后处理。"
    )
