"""Small mobile pages opened from links in cards, signed in with WeCom's in-app OAuth."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from bot.pages import auth, cycle, upload


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.PUBLIC_BASE_URL.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(upload.blueprint)
    app.register_blueprint(cycle.blueprint)
