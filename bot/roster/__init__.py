"""The roster: the workbook of units, people, assignments and calendar, and its import.

- :mod:`bot.roster.columns` — sheets and columns as data (Chinese titles, English keys)
- :mod:`bot.roster.workbook` — reading (read-only, streaming) and writing workbooks
- :mod:`bot.roster.cell_formats` — one parser per column format, one cell at a time
- :mod:`bot.roster.validate` — every row checked, every problem listed
- :mod:`bot.roster.entries` — the validated roster (units, people, assignments, semesters)
- :mod:`bot.roster.importer` — the import's entry points, its steps in order
- :mod:`bot.roster.stored` — what the database holds already, and what only it can refuse
- :mod:`bot.roster.write_people` — units, people, roles and heads, in bulk
- :mod:`bot.roster.write_year` — a year's calendar and assignments
- :mod:`bot.roster.import_summary` — what an import changed, or why it changed nothing
- :mod:`bot.roster.generate` — a large realistic workbook for benchmarks
- :mod:`bot.roster.cli` — ``flask --app bot roster …``

Import each name from the module that defines it.
"""
