"""Small mobile pages opened from links in cards, signed in with WeCom's in-app OAuth."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from bot.core import inputs
from bot.core.storage import StorageError
from bot.pages import auth, care, cycle, home, ratings, upload


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.PUBLIC_BASE_URL.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    inputs.init_app(app)  # <id:…> in the pages' rules: before they are registered
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(upload.blueprint)
    app.register_blueprint(cycle.blueprint)
    app.register_blueprint(care.blueprint)
    app.register_blueprint(ratings.blueprint)
    app.register_blueprint(home.blueprint)


def _storage_unavailable(exc: StorageError) -> tuple[str, int]:
    """A page that needed the file store while it failed (logged there): nothing was saved."""
    return auth.error_page(
        503, "文件存储暂时无法使用，刚才的操作没有保存。请稍后再试；如果一直不成功，请联系书院部。"
    )


for _blueprint in (upload.blueprint, cycle.blueprint):  # once, before any app registers them
    _blueprint.register_error_handler(StorageError, _storage_unavailable)
