"""The whole app served for real on 127.0.0.1: bot + simulator, as `make demo` runs it;
and how a test leaves an installation empty again."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from bot import create_app
from bot.core.db import Base
from bot.core.storage import FileStore
from bot.devtools.simulator.chat import Simulator
from bot.outbox import sender
from bot.outbox.sender import DrainReport


def empty_tables(engine: sa.Engine) -> None:
    """Delete every row (children first); the schema stays for the next test."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def reset_installation(app: Flask) -> None:
    """Leave nothing behind: rows, this run's Redis keys, pooled connections."""
    database = app.extensions["database"]
    empty_tables(database.engine)
    app.extensions["redis"].delete_all_keys()
    database.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApp:
    app: Flask
    base_url: str

    @property
    def simulator(self) -> Simulator:
        return self.app.extensions["simulator"]

    @property
    def files(self) -> FileStore:
        settings = self.app.extensions["settings"]
        return FileStore.from_settings(settings, self.app.instance_path)

    def drain(self) -> DrainReport:
        return sender.drain_once(
            self.app.extensions["database"],
            self.app.extensions["wecom_client"],
            self.app.extensions["redis"],
            datetime.now(UTC),
            files=self.files,
        )


@contextmanager
def serve(overrides: dict[str, Any]) -> Iterator[LiveApp]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            **overrides,
            "SIMULATOR": True,
            "WECOM_API_BASE": base + "/simulator",
            "WECOM_OAUTH_BASE": base + "/simulator",
            "PUBLIC_BASE_URL": base,
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(app, base)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        reset_installation(app)
