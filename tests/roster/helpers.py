"""Helpers for the roster tests."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import sqlalchemy as sa

from bot.core.db import Database
from bot.devtools.demo_roster import demo_roster_records
from bot.roster.import_summary import ImportSummary
from bot.roster.importer import import_roster
from bot.roster.workbook import RawRoster

TODAY = date(2025, 10, 1)
SMALL = demo_roster_records(mentors=4, students_per_mentor=3)


def small_roster() -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(SMALL)


def do_import(
    database: Database, records: dict[str, list[dict[str, Any]]], year: str | None = None
) -> ImportSummary:
    with database.session() as session:
        return import_roster(session, RawRoster.from_records(records), year=year, today=TODAY)


def table_counts(database: Database) -> dict[str, int]:
    from bot.core.models import Base

    with database.engine.connect() as connection:
        return {
            table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }


def row_of(records: dict[str, list[dict[str, Any]]], sheet: str, **match: Any) -> int:
    """The workbook row number of the first row matching ``match`` (header = row 1)."""
    for index, row in enumerate(records[sheet]):
        if all(row.get(key) == value for key, value in match.items()):
            return index + 2
    raise LookupError(match)


def empty_tables(database: Database) -> None:
    from tests.live import empty_tables as delete_rows

    delete_rows(database.engine)
