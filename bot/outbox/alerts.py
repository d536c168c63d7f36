"""Telling the administrators when messages cannot be delivered.

Each alert is a message in the outbox under a key unique per kind and period, so it goes out
once per period however many senders meet the trouble. Rows that are themselves alerts are never
alerted about (no loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from bot.core.db import Database
from bot.core.models import OutboxMessage, Role
from bot.outbox.lease import MAX_ATTEMPTS
from bot.outbox.queue import Message, enqueue
from bot.roster.holders import holder_userids

log = structlog.get_logger("bot.outbox.alerts")

ALERT_PREFIX = "alert:"
UNREACHABLE_IDS_SHOWN = 10


@dataclass
class Trouble:
    """What one pass of the sender met that the administrators must hear about."""

    dead: list[OutboxMessage] = field(default_factory=list)  # retried until they gave up
    refused_cards: list[OutboxMessage] = field(default_factory=list)  # 42014, not ours before
    unreachable: list[OutboxMessage] = field(default_factory=list)  # invaliduser, 81013

    def failed(self, row: OutboxMessage) -> None:
        """Note a row that failed for good (its ``last_error`` set) if it calls for an alert."""
        error = row.last_error or ""
        if error.startswith("errcode 42014"):
            self.refused_cards.append(row)
        elif error == "invaliduser" or error.startswith("errcode 81013"):
            self.unreachable.append(row)


def alert_administrators(database: Database, trouble: Trouble, now: datetime) -> int:
    """Every alert ``trouble`` calls for; returns rows added."""
    added = 0
    if trouble.dead:
        added += alert_dead_letters(database, trouble.dead, now)
    if trouble.refused_cards:
        added += alert_refused_cards(database, trouble.refused_cards, now)
    if trouble.unreachable:
        added += alert_unreachable(database, trouble.unreachable, now)
    return added


def _key(kind: str, now: datetime, period: str) -> str:
    """The outbox key of an alert: one per kind and period (UTC hour or day)."""
    return f"{ALERT_PREFIX}{kind}:{now.astimezone(UTC).strftime(period)}"


def _tell_admins(
    database: Database,
    text: str,
    key: str,
    now: datetime,
    roles: Sequence[Role] = (Role.SYSTEM_ADMIN, Role.ACADEMY_ADMIN),
) -> int:
    with database.session() as session:
        admins = holder_userids(session, *roles)
        return enqueue(session, admins, Message.text(text), key=key, now=now)


def alert_unreachable(database: Database, rows: Sequence[OutboxMessage], now: datetime) -> int:
    """Tell the system administrators, once a day, that WeCom could not reach some people
    (invaliduser, 81013): usually the app's visible range (可见范围) leaves them out, or
    their WeCom account is gone. The count and the first ids; never the contents."""
    counted = [row for row in rows if not row.key.startswith(ALERT_PREFIX)]
    if not counted:
        return 0
    userids = sorted({row.userid for row in counted})
    shown = "、".join(userids[:UNREACHABLE_IDS_SHOWN])
    more = f"等 {len(userids)} 人" if len(userids) > UNREACHABLE_IDS_SHOWN else ""
    text = (
        f"【系统告警】有 {len(counted)} 条消息因收件人无法送达而发送失败"
        f"（企业微信 invaliduser 或 81013）：{shown}{more}。\n"
        "通常是应用的可见范围没有包含这些人，或他们的企业微信账号已停用、账号与名册不一致。"
        "请在企业微信管理后台检查应用的可见范围和通讯录。今天的其他同类失败不再重复告警。"
    )
    added = _tell_admins(
        database, text, _key("unreachable", now, "%Y%m%d"), now, roles=(Role.SYSTEM_ADMIN,)
    )
    log.error("outbox_unreachable", count=len(counted), people=len(userids), alerted=added)
    return added


def alert_refused_cards(database: Database, rows: Sequence[OutboxMessage], now: datetime) -> int:
    """Cards WeCom refused with 42014 although no earlier attempt of theirs carried that
    task_id: the id is empty, over-long, badly formed or used by another card. Once an hour."""
    counted = [row for row in rows if not row.key.startswith(ALERT_PREFIX)]
    if not counted:
        return 0
    keys = "、".join(sorted({row.key.rsplit(":", 1)[0] for row in counted})[:3])
    text = (
        f"【系统告警】有 {len(counted)} 张卡片消息被企业微信拒绝（错误 42014：task_id 为空、"
        f"过长、格式不对或已被其他卡片使用），未发送（{keys}）。\n请系统管理员检查生成这些卡片的"
        "功能（日志 outbox_cards_refused）。本小时内的其他同类失败不再重复告警。"
    )
    added = _tell_admins(database, text, _key("task-id", now, "%Y%m%d%H"), now)
    log.error("outbox_cards_refused", count=len(counted), alerted=added)
    return added


def alert_dead_letters(database: Database, dead: Sequence[OutboxMessage], now: datetime) -> int:
    """Tell the system and academy administrators, once an hour at most, that messages
    became dead letters. Dead alerts are not alerted about (no loop). Returns rows added."""
    counted = [row for row in dead if not row.key.startswith(ALERT_PREFIX)]
    if not counted:
        log.error("outbox_alert_dead", count=len(dead))
        return 0
    errors = sorted({(row.last_error or "").split(":")[0] for row in counted} - {""})
    text = (
        f"【系统告警】有 {len(counted)} 条消息重试 {MAX_ATTEMPTS} 次仍发送失败，已停止重试"
        f"（错误：{'、'.join(errors) or '未知'}）。\n请系统管理员检查企业微信接口与网络后，"
        "在服务器上运行 flask --app bot outbox dead 查看，outbox retry-dead 重新发送。"
        "本小时内的其他失败不再重复告警。"
    )
    added = _tell_admins(database, text, _key("dead", now, "%Y%m%d%H"), now)
    log.error("outbox_dead_letters", count=len(counted), alerted=added)
    return added
