"""Telling the administrators when messages cannot be delivered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from bot.core.db import Database
from bot.core.models import OutboxMessage, Role
from bot.outbox.lease import MAX_ATTEMPTS
from bot.outbox.queue import Message, enqueue
from bot.roster.holders import holder_userids

log = structlog.get_logger("bot.outbox.alerts")

ALERT_PREFIX = "alert:"


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
    with database.session() as session:
        admins = holder_userids(session, Role.SYSTEM_ADMIN, Role.ACADEMY_ADMIN)
        added = enqueue(
            session,
            admins,
            Message.text(text),
            key=f"{ALERT_PREFIX}dead:{now.astimezone(UTC):%Y%m%d%H}",
            now=now,
        )
    log.error("outbox_dead_letters", count=len(counted), alerted=added)
    return added
