"""Fixtures for the roster tests: the small demo roster as rows, written to a workbook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.roster.workbook import write_workbook
from tests.roster.helpers import small_roster


@pytest.fixture
def records() -> dict[str, list[dict[str, Any]]]:
    """A fresh copy of the small demo roster (4 mentors, 12 students), safe to mutate."""
    return small_roster()


@pytest.fixture
def workbook(tmp_path: Path) -> Callable[..., Path]:
    def write(records: dict[str, list[dict[str, Any]]], name: str = "roster.xlsx") -> Path:
        path = tmp_path / name
        write_workbook(path, records)
        return path

    return write
