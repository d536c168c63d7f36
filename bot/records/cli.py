"""``flask --app bot evidence fetch``: download photos waiting to be stored."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import click
import sqlalchemy as sa
import structlog
from flask import current_app
from flask.cli import AppGroup

from bot.core.db import Database, get_database
from bot.core.redis_store import RedisUnavailable
from bot.core.storage import FileStore
from bot.records.evidence import MediaClient, fetch_pending_evidence

log = structlog.get_logger("bot.evidence")

evidence_cli = AppGroup("evidence", help="佐证照片.")


@evidence_cli.command("fetch")
@click.option("--loop", is_flag=True, help="Keep running: the media worker process.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def evidence_fetch(loop: bool, interval: float) -> None:
    """Download pending photos from WeCom (media ids expire after 3 days) into the file store."""
    from bot.wecom.app_client import get_client

    settings = current_app.extensions["settings"]
    database, client = get_database(), get_client()
    storage = FileStore.from_settings(settings, current_app.instance_path)
    if loop:
        run_fetcher(database, client, storage, interval=interval)
        return
    report = fetch_pending_evidence(database, client, storage, datetime.now(UTC))
    click.echo(f"已保存 {report.stored} 张，未成功 {report.failed} 张")


def run_fetcher(
    database: Database,
    client: MediaClient,
    storage: FileStore,
    *,
    interval: float = 5.0,
    stop: threading.Event | None = None,
) -> None:
    """The media worker: fetch pending photos every ``interval`` seconds until ``stop``."""
    stop = stop or threading.Event()
    redis_down = False
    while not stop.is_set():
        try:
            fetch_pending_evidence(database, client, storage, datetime.now(UTC))
        except sa.exc.OperationalError:
            log.exception("evidence_fetch_database_unavailable")
        except RedisUnavailable:  # the photos wait; said once per outage
            if not redis_down:
                log.warning("redis_unavailable", where="media worker")
            redis_down = True
        else:
            if redis_down:
                log.warning("redis_recovered", where="media worker")
            redis_down = False
        stop.wait(interval)
