"""The demo university with its year of records and ratings, phones and signed-in browsers."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook

from bot.core.db import get_database
from bot.core.models import OutboxMessage, Unit
from bot.devtools.demo_data import seed_demo
from bot.devtools.simulator.chat import sync_directory
from tests.live import LiveApp, serve
from tests.records.conftest import Phone

END_OF_YEAR = datetime(2026, 8, 31, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    """The whole app served on a local port with the simulator, the demo university seeded
    and in the simulator's contact book."""
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        with live.app.app_context():
            seed_demo(database, now=END_OF_YEAR)
        with database.session() as session:
            sync_directory(live.simulator, session)
        yield live


@pytest.fixture
def demo(app, database) -> dict[str, int]:
    """Seed the demo university; the college ids by code."""
    with app.app_context():
        seed_demo(database, now=END_OF_YEAR)
    with database.session() as session:
        return {u.code: u.id for u in session.scalars(sa.select(Unit))}


@pytest.fixture
def phone(app, client, database) -> Phone:
    return Phone(app, client, database)


class Browser:
    """A signed-in in-app browser (the session cookie the OAuth sign-in would set)."""

    def __init__(self, app, userid: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.userid = userid
        with self.client.session_transaction() as session:
            session["userid"] = userid

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            session.setdefault("csrf", "test-csrf-token")
            return session["csrf"]

    def post(self, path: str, **kwargs: Any) -> Any:
        data = {"csrf": self.csrf(), **kwargs.pop("data", {})}
        return self.client.post(path, data=data, content_type="multipart/form-data", **kwargs)

    def upload(self, path: str, content: bytes, name: str = "评分表.xlsx") -> Any:
        return self.post(path, data={"file": (io.BytesIO(content), name)})


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def workbook_rows(content: bytes) -> tuple[Any, Any, dict[str, int]]:
    """(book, sheet, header → column) of a scoring workbook."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    headers = {sheet.cell(3, c).value: c for c in range(1, sheet.max_column + 1)}
    return book, sheet, headers


def save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def outbox_for(database, userid: str) -> list[OutboxMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.userid == userid)
                .order_by(OutboxMessage.id)
            )
        )
