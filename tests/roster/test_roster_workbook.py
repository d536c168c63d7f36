"""The generator, the template, the calendar rules and the documentation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl

from bot.roster.calendar import standard_calendar, teaching_weeks, week_count, year_code_for
from bot.roster.columns import SHEETS, render_markdown
from bot.roster.generate import generate_roster
from bot.roster.validate import validate
from bot.roster.workbook import RawRoster, read_workbook

DOCS = Path(__file__).resolve().parents[2] / "docs" / "roster.md"


def test_generator_is_deterministic_and_valid(tmp_path):
    rows = generate_roster(students=900, mentors=45, seed=7)
    assert rows == generate_roster(students=900, mentors=45, seed=7)
    assert rows != generate_roster(students=900, mentors=45, seed=8)
    assert len(rows["students"]) == 900 and len(rows["mentors"]) == 45
    colleges = [u for u in rows["units"] if u["kind"] == "学院"]
    assert 8 <= len(colleges) <= 12
    assert len(rows["assignments"]) == 900
    roster, issues = validate(RawRoster.from_records(rows))
    assert issues == []
    assert roster is not None
    names = [m["name"] for m in rows["mentors"]]
    assert all(2 <= len(name) <= 3 for name in names)
    assert len(set(names)) > 35


def test_generate_and_template_commands(runner, tmp_path):
    out = tmp_path / "big.xlsx"
    result = runner.invoke(
        args=["roster", "generate", str(out), "--students", "300", "--mentors", "15", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    roster, issues = validate(read_workbook(out))
    assert issues == [] and roster is not None
    assert sum(1 for p in roster.people.values() if p.kind.value == "student") == 300

    template = tmp_path / "template.xlsx"
    assert runner.invoke(args=["roster", "template", str(template)]).exit_code == 0
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == [sheet.title for sheet in SHEETS]
    for sheet in SHEETS:
        header = [cell.value for cell in next(book[sheet.title].iter_rows(max_row=1))]
        assert header == [column.header for column in sheet.columns]


def test_english_keys_are_accepted_as_headers(tmp_path, records):
    path = tmp_path / "english.xlsx"
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in SHEETS:
        worksheet = book.create_sheet(sheet.title)
        worksheet.append([column.key.upper() for column in sheet.columns])
        for row in records.get(sheet.key, []):
            worksheet.append([row.get(column.key) for column in sheet.columns])
    book.save(path)
    roster, issues = validate(read_workbook(path))
    assert issues == [] and roster is not None and len(roster.people) > 30


def test_teaching_weeks_and_the_standard_calendar():
    first, second = standard_calendar("2025-2026")
    assert (first.starts_on, first.ends_on, first.holidays) == (
        date(2025, 9, 8),
        date(2026, 1, 16),
        (4,),
    )
    assert (second.starts_on, second.ends_on, second.holidays) == (
        date(2026, 2, 23),
        date(2026, 7, 3),
        (),
    )
    assert week_count(date(2025, 9, 10), date(2025, 9, 22)) == 3
    weeks = teaching_weeks(date(2025, 9, 10), date(2025, 9, 22), {2})
    assert [(w.number, w.starts_on, w.ends_on) for w in weeks] == [
        (1, date(2025, 9, 10), date(2025, 9, 14)),
        (3, date(2025, 9, 22), date(2025, 9, 22)),
    ]
    assert year_code_for(date(2026, 8, 31)) == "2025-2026"
    assert year_code_for(date(2026, 9, 1)) == "2026-2027"
    for year in ("2026-2027", "2027-2028", "2031-2032"):
        first, second = standard_calendar(year)
        assert first.starts_on.weekday() == second.starts_on.weekday() == 0
        assert first.ends_on < second.starts_on


def test_docs_document_every_column():
    text = DOCS.read_text(encoding="utf-8")
    assert render_markdown() in text, "docs/roster.md: paste the output of render_markdown()"


def test_total_rows_for_a_workbook_without_dimensions(tmp_path, records):
    from bot.roster.workbook import WorkbookReader, write_workbook

    path = tmp_path / "r.xlsx"
    write_workbook(path, records)  # write-only mode records no dimensions
    reader = WorkbookReader(path)
    try:
        assert reader.total_rows == sum(len(rows) for rows in records.values())
    finally:
        reader.close()


def test_readme_documents_every_column():
    readme = DOCS.parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert render_markdown().strip() in text, "README.md: paste the output of render_markdown()"
