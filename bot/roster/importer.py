"""Importing a roster: the entry points (a workbook file, a raw roster) and the order of the
steps: validate (:mod:`bot.roster.validate`), refuse what only the database can refuse
(:mod:`bot.roster.stored`), then write units and people (:mod:`bot.roster.write_people`) and
the year's calendar and assignments (:mod:`bot.roster.write_year`). Bulk, idempotent, never
losing records.

Keys: unit code, staff/student number, (year, mentor) for assignments, (year, student) for a
student's mentor. Existing keys are loaded into dicts once; rows are inserted and updated in
bulk (``session.execute(insert(...), rows)``), never selected one by one. People missing from
a later file are marked inactive, never deleted; the roles of the people in the file are
exactly the roles the file gives them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy.orm as so

from bot.core.db import Database
from bot.core.models import Unit
from bot.roster.calendar import parse_year_code, year_code_for
from bot.roster.entries import Roster
from bot.roster.import_summary import ImportSummary, RosterInvalid
from bot.roster.stored import Stored, conflicts_with_database, fixed_year_issues, fixed_years, ids
from bot.roster.validate import validate
from bot.roster.workbook import Progress, RawRoster, RosterIssue, read_workbook
from bot.roster.write_people import apply_heads, apply_people, apply_roles, apply_units
from bot.roster.write_year import apply_assignments, apply_calendar


def resolve_year(roster: Roster, year: str | None, today: date) -> str:
    """The year the assignments are for: ``year``, else the calendar's only year, else the
    academic year containing ``today``."""
    if year is not None:
        if parse_year_code(year) is None:
            raise RosterInvalid(
                [RosterIssue(None, None, f"学年“{year}”格式不正确（应为 2025-2026）")]
            )
        return year
    years = {semester.year for semester in roster.semesters}
    if len(years) == 1:
        return years.pop()
    return year_code_for(today)


def import_roster(
    session: so.Session, raw: RawRoster, *, year: str | None, today: date
) -> ImportSummary:
    """Validate ``raw`` and write it; raise :class:`RosterInvalid` (nothing written) on any
    problem. The caller commits."""
    roster, issues = validate(raw)
    if roster is None:
        raise RosterInvalid(issues)
    return apply_roster(session, roster, year=resolve_year(roster, year, today))


def import_workbook(
    database: Database,
    path: str | Path,
    *,
    year: str | None,
    today: date,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read, validate and import a workbook in one transaction."""
    raw = read_workbook(path, progress)
    with database.session() as session:
        return import_roster(session, raw, year=year, today=today)


def apply_roster(session: so.Session, roster: Roster, *, year: str) -> ImportSummary:
    summary = ImportSummary(year)
    fixed = fixed_year_issues(roster, year, fixed_years(session))
    if fixed:
        raise RosterInvalid(fixed)
    state = Stored.load(session)
    issues = conflicts_with_database(roster, state)
    if issues:
        raise RosterInvalid(issues)
    unit_status = apply_units(session, roster, state)
    unit_ids = ids(session, Unit.code, Unit.id)
    person_status, person_ids = apply_people(session, roster, state, unit_ids, summary)
    apply_roles(session, roster, person_ids, unit_ids, person_status, summary)
    apply_heads(session, roster, state, unit_ids, person_ids, unit_status)
    for unit in roster.units:
        summary.sheets["units"].add(unit_status[unit.code])
    for entry in roster.people.values():
        for sheet, _row in entry.rows:
            summary.sheets[sheet].add(person_status[entry.number])
    apply_calendar(session, roster, summary)
    apply_assignments(session, roster, year, person_ids, unit_ids, summary)
    session.flush()
    return summary
