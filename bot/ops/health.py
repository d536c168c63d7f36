"""/healthz (the process answers) and /readyz (database, Redis, migrations and the file store
ready)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from bot.core import migrate
from bot.core.db import get_database
from bot.core.redis_store import get_redis
from bot.core.storage import StorageError, app_file_store

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks: dict[str, str] = {}
    database = get_database()
    try:
        with database.engine.connect() as connection:
            connection.execute(sa.select(1))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if migrate.is_current(database.engine) else "pending"
    except sa.exc.SQLAlchemyError:
        checks["database"] = "unreachable"
    checks["redis"] = "ok" if get_redis().ping() else "unreachable"  # refused, reset, timed out
    try:  # at most about 2 s for an object store (logged by the store)
        app_file_store(current_app).check()
        checks["file_store"] = "ok"
    except StorageError:
        checks["file_store"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
