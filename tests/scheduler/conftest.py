"""The demo university, seeded for the whole 2025-2026 year, for the scheduler tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import Rules
from bot.core.db import Database
from bot.devtools.demo_data import seed_demo

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = Rules(zone=SHANGHAI)
END_OF_YEAR = datetime(2026, 8, 31, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def demo(app, database: Database) -> Database:
    with app.app_context():
        seed_demo(database, now=END_OF_YEAR, zone=SHANGHAI)
    return database
