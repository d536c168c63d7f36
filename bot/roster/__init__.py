"""The roster: the workbook of units, people, assignments and calendar, and its import.

- :mod:`bot.roster.columns` — sheets and columns as data (Chinese titles, English keys)
- :mod:`bot.roster.workbook` — reading (read-only, streaming) and writing workbooks
- :mod:`bot.roster.validate` — every row checked, every problem listed
- :mod:`bot.roster.importer` — bulk, idempotent writes
- :mod:`bot.roster.generate` — a large realistic workbook for benchmarks
- :mod:`bot.roster.cli` — ``flask --app bot roster …``
"""

from bot.roster.importer import (
    ImportSummary,
    RosterInvalid,
    apply_roster,
    import_roster,
    import_workbook,
)
from bot.roster.validate import Roster, validate
from bot.roster.workbook import RawRoster, RosterIssue, read_workbook, write_workbook

__all__ = [
    "ImportSummary",
    "RawRoster",
    "Roster",
    "RosterInvalid",
    "RosterIssue",
    "apply_roster",
    "import_roster",
    "import_workbook",
    "read_workbook",
    "validate",
    "write_workbook",
]
