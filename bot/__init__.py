"""企业微信 全生异科导师 bot: the Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from bot import cli, pages
from bot.chat import webhook
from bot.core import db, logs, redis_store, storage
from bot.core.settings import Settings, SettingsError, load_settings
from bot.ops import health, metrics
from bot.wecom import app_client as wecom_client


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests); without it, a missing or
    malformed setting stops the process with one line naming the variable."""
    app = Flask(__name__, instance_relative_config=True)
    try:
        settings = load_settings(config, env_file=None if config else ".env")
    except SettingsError as exc:
        if config is not None:
            raise
        raise SystemExit(str(exc)) from None
    os.makedirs(app.instance_path, exist_ok=True)
    if settings.TRUSTED_PROXIES:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config.update(SECRET_KEY=settings.SECRET_KEY, MAX_CONTENT_LENGTH=25 * 1024 * 1024)
    app.extensions["settings"] = settings
    logs.init_app(app)
    storage.make_directory(settings, app.instance_path)

    db.init_app(app, db.Database(settings.database_url(app.instance_path)))
    redis_store.init_app(app, redis_store.RedisStore(settings.REDIS_URL, settings.REDIS_PREFIX))
    wecom_client.init_app(app)
    webhook.init_app(app)
    pages.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    cli.init_app(app)
    if settings.SIMULATOR:
        from bot.devtools.simulator import chat

        chat.init_app(app)
    return app


def get_settings(app: Flask | None = None) -> Settings:
    from flask import current_app

    return (app or current_app).extensions["settings"]
