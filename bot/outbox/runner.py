"""The sender loop, run alone (``flask --app bot outbox send``) or as a thread of the demo."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from flask import Flask

from bot.core.db import Database
from bot.core.redis_store import Backoff, RedisStore
from bot.core.storage import FileStore
from bot.outbox.sender import DrainReport, drain_once
from bot.wecom.client import WeComClient

log = structlog.get_logger("bot.outbox.runner")


def run_forever(
    database: Database,
    client: WeComClient,
    store: RedisStore,
    *,
    idle_seconds: float = 1.0,
    stop: threading.Event | None = None,
    files: FileStore | None = None,
) -> None:
    """The sender loop: drain, sleep while idle, until ``stop`` is set."""
    stop = stop or threading.Event()
    waiting = Backoff()
    while not stop.is_set():
        try:
            report = drain_once(database, client, store, datetime.now(UTC), files=files)
        except sa.exc.OperationalError:
            log.exception("sender_database_unavailable")
            report = DrainReport()
        if store.down:  # the outage is logged once by the store; sends wait for Redis
            stop.wait(waiting.next())
            continue
        waiting.reset()
        if report.claimed:
            log.info("outbox_drained", **{k: v for k, v in vars(report).items() if v})
        else:
            stop.wait(idle_seconds)


def run_sender_thread(app: Flask) -> threading.Thread:
    """For the demo: the sender in a thread of the web process (production runs it alone)."""
    from bot.wecom.app_client import get_client

    settings = app.extensions["settings"]
    thread = threading.Thread(
        target=run_forever,
        args=(app.extensions["database"], get_client(app), app.extensions["redis"]),
        kwargs={"files": FileStore.from_settings(settings, app.instance_path)},
        name="outbox-sender",
        daemon=True,
    )
    thread.start()
    time.sleep(0)
    return thread
