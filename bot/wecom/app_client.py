"""The app's one WeCom API client, built from settings and shared through the app."""

from __future__ import annotations

from flask import Flask, current_app

from bot.wecom.client import WeComClient


def init_app(app: Flask) -> None:
    """Throttling (45009, -1) is not slept on here: the outbox reschedules the message."""
    store = app.extensions["redis"]
    settings = app.extensions["settings"]
    app.extensions["wecom_client"] = WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        agent_id=settings.WECOM_AGENT_ID,
        api_base=settings.WECOM_API_BASE,
        redis_client=store.client,
        key_prefix=store.prefix,
        max_retries=0,
    )


def get_client(app: Flask | None = None) -> WeComClient:
    return (app or current_app).extensions["wecom_client"]
