"""Reading and writing roster workbooks (openpyxl read-only / write-only: large files stream).

Reading turns each sheet into :class:`RawRow` s keyed by column key, with the Excel row
number kept for error messages; nothing is interpreted here beyond finding the header.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from bot.core.workbooks import ROSTER_WORKBOOK, archive_problem
from bot.roster.columns import SHEETS, SheetSpec


@dataclass(frozen=True)
class RosterIssue:
    """One problem with the roster: where (sheet, row) and why, in Chinese."""

    sheet: str | None
    row: int | None
    message: str

    def __str__(self) -> str:
        if self.sheet and self.row:
            return f"{self.sheet} 第{self.row}行：{self.message}"
        if self.sheet:
            return f"{self.sheet}：{self.message}"
        return self.message


@dataclass(frozen=True)
class RawRow:
    row: int
    values: Mapping[str, Any]


@dataclass
class RawRoster:
    """The cells of a roster by sheet key, before validation."""

    sheets: dict[str, list[RawRow]] = field(default_factory=dict)
    issues: list[RosterIssue] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: Mapping[str, Iterable[Mapping[str, Any]]]) -> RawRoster:
        """Rows given in code (the demo, tests) numbered as in a workbook (header = row 1)."""
        sheets = {
            key: [RawRow(number, dict(values)) for number, values in enumerate(rows, start=2)]
            for key, rows in records.items()
        }
        return cls(sheets={sheet.key: sheets.get(sheet.key, []) for sheet in SHEETS})


Progress = Callable[[int], None]


class WorkbookReader:
    """Opens a workbook in read-only mode; ``total_rows`` sizes a progress bar."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.book: Any = None
        self.open_issue: RosterIssue | None = None
        refused = archive_problem(self.path, ROSTER_WORKBOOK)
        if refused is not None:
            self.open_issue = RosterIssue(None, None, f"无法读取文件 {self.path.name}：{refused}")
            return
        try:
            self.book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            self.open_issue = RosterIssue(None, None, f"无法读取文件 {self.path.name}：{exc}")

    @property
    def total_rows(self) -> int:
        if self.book is None:
            return 0
        total = 0
        for sheet in SHEETS:
            if sheet.title in self.book.sheetnames:
                worksheet = self.book[sheet.title]
                rows = worksheet.max_row or _count_rows(self.book, worksheet)
                total += max(rows - 1, 0)
        return total

    def read(self, progress: Progress | None = None) -> RawRoster:
        roster = RawRoster()
        if self.book is None:
            assert self.open_issue is not None
            roster.issues.append(self.open_issue)
            return roster
        for sheet in SHEETS:
            if sheet.title not in self.book.sheetnames:
                roster.sheets[sheet.key] = []
                if sheet.required:
                    roster.issues.append(RosterIssue(None, None, f"缺少工作表“{sheet.title}”"))
                continue
            roster.sheets[sheet.key] = _read_sheet(
                sheet, self.book[sheet.title], roster.issues, progress
            )
        return roster

    def close(self) -> None:
        if self.book is not None:
            self.book.close()


def _count_rows(book: Any, worksheet: Any) -> int:
    """Rows of a sheet saved without its dimension (openpyxl's write-only mode does that):
    count the ``<row`` tags of its XML, streaming; 0 when that is not possible."""
    archive = getattr(book, "_archive", None)
    member = getattr(worksheet, "_worksheet_path", None)
    if archive is None or member is None:
        return 0
    count, tail = 0, b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                count += data.count(b"<row ") + data.count(b"<row>")
                tail = data[-5:]
                count -= tail.count(b"<row ") + tail.count(b"<row>")
    except (KeyError, OSError, zipfile.BadZipFile):
        return 0
    return count + tail.count(b"<row ") + tail.count(b"<row>")


def read_workbook(path: str | Path, progress: Progress | None = None) -> RawRoster:
    reader = WorkbookReader(path)
    try:
        return reader.read(progress)
    finally:
        reader.close()


def _header_index(spec: SheetSpec, header: tuple[Any, ...], issues: list[RosterIssue]) -> dict:
    names: dict[str, str] = {}
    for column in spec.columns:
        names[column.header] = column.key
        names[column.key.lower()] = column.key
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        text = str(cell).strip().rstrip("*＊").strip() if cell is not None else ""
        key = names.get(text) or names.get(text.lower())
        if key is None:
            continue
        if key in index:
            issues.append(RosterIssue(spec.title, 1, f"列“{spec.header(key)}”出现了两次"))
            continue
        index[key] = position
    for column in spec.columns:
        if column.required and column.key not in index:
            issues.append(RosterIssue(spec.title, 1, f"缺少列“{column.header}”"))
    return index


def _read_sheet(
    spec: SheetSpec, worksheet: Any, issues: list[RosterIssue], progress: Progress | None
) -> list[RawRow]:
    rows = worksheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        issues.append(RosterIssue(spec.title, 1, "缺少表头"))
        return []
    index = _header_index(spec, header, issues)
    result: list[RawRow] = []
    pending = 0
    for number, cells in enumerate(rows, start=2):
        values = {
            key: cells[position] if position < len(cells) else None
            for key, position in index.items()
        }
        if any(_present(value) for value in values.values()):
            result.append(RawRow(number, values))
        pending += 1
        if progress is not None and pending >= 1000:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    return result


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


# --- writing ---------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_WIDTHS = {"date": 12, "userid": 18, "unit_name": 24, "text": 18, "weeks": 12}


def write_workbook(path: str | Path, records: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    """Write rows (by sheet key, each a dict by column key) as a roster workbook."""
    book = openpyxl.Workbook(write_only=True)
    for spec in SHEETS:
        worksheet = book.create_sheet(spec.title)
        for position, column in enumerate(spec.columns):
            letter = openpyxl.utils.get_column_letter(position + 1)
            worksheet.column_dimensions[letter].width = _WIDTHS.get(column.format, 14)
        header = []
        for column in spec.columns:
            cell = WriteOnlyCell(worksheet, value=column.header)
            cell.font = _BOLD
            header.append(cell)
        worksheet.append(header)
        for values in records.get(spec.key, ()):
            worksheet.append([_cell(worksheet, values.get(column.key)) for column in spec.columns])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _cell(worksheet: Any, value: Any) -> Any:
    if isinstance(value, date | datetime):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value
