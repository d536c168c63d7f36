"""A job for the process tests: notes each run in a file and queues one message."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from bot.calendar import Rules
from bot.core.db import Database
from bot.outbox.queue import Message
from bot.reminders import notify


def tick(database: Database, now: datetime, *, rules: Rules, log_path: str) -> int:
    stamp = f"{now:%Y%m%dT%H%M%S}"
    with Path(log_path).open("a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {stamp}\n")
    with database.session() as session:
        return notify(
            session,
            ["ops"],
            Message.text("tick"),
            campaign="tick",
            period=stamp,
            now=now,
            rules=rules,
            urgent=True,
        )
