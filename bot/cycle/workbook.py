"""Scoring workbooks (评分表): built for a college (B, M, E items of its mentors) or for the
academy office (A items of all mentors), and read back with strict validation.

Pure: plain values in, bytes out; bytes in, scores or every problem (by row and column, in
Chinese) out. The database side is in ``bot.cycle.scores``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.core.inputs import parse_number
from bot.core.workbooks import SCORING_WORKBOOK, archive_problem
from scoring.numbers import fmt

SHEET = "评分表"
NUMBER_HEADER = "工号"
NAME_HEADER = "姓名"
COLLEGE_HEADER = "考核学院"
SUMMARY_HEADER = "年度工作总结"
TOTAL_HEADER = "总分（只读）"
RANK_HEADER = "院内排名（只读）"
SCORE_COLUMN = re.compile(r"^\s*([A-Z]\d+)\s*评分")
ACHIEVED_COLUMN = re.compile(r"^\s*([A-Z]\d+)\s*是否达成")
NOTE_COLUMN = re.compile(r"^\s*([A-Z]\d+)\s*竞赛或论文名称")
YES, NO = "是", "否"
NOTE_MAX = 200
HEADER_ROW = 3
FIRST_ROW = HEADER_ROW + 1
MAX_BYTES = 5 * 1024 * 1024
FORMULA_START = ("=", "+", "-", "@")
EDITABLE = PatternFill("solid", fgColor="FFF2CC")
READ_ONLY = PatternFill("solid", fgColor="E7E6E6")


@dataclass(frozen=True)
class ItemColumn:
    """An item of the workbook; ``yes_no``: a bonus item, entered as achieved (是, its
    maximum) or not (否, 0) with a line naming the competition or paper."""

    id: str
    title: str
    maximum: Decimal
    yes_no: bool = False


@dataclass(frozen=True)
class MentorRow:
    """One mentor's line: current scores, self-assessment, figures and suggestions by item."""

    number: str
    name: str
    college: str
    scores: Mapping[str, Decimal] = field(default_factory=dict)
    self_scores: Mapping[str, Decimal] = field(default_factory=dict)
    figures: Mapping[str, str] = field(default_factory=dict)
    suggested: Mapping[str, Decimal] = field(default_factory=dict)
    summary_url: str | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    self_notes: Mapping[str, str] = field(default_factory=dict)
    shown: Mapping[str, Decimal] = field(default_factory=dict)  # read-only scores (A items)
    total: Decimal | None = None
    rank: str = ""


def escape_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, made inert with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def score_header(item: ItemColumn) -> str:
    return f"{item.id} 评分（满分 {fmt(item.maximum)}）"


def achieved_header(item: ItemColumn) -> str:
    return f"{item.id} 是否达成（是/否）"


def note_header(item: ItemColumn) -> str:
    return f"{item.id} 竞赛或论文名称"


def shown_header(item: ItemColumn) -> str:
    return f"{item.id} 书院部评分（只读，满分 {fmt(item.maximum)}）"


def entry_headers(item: ItemColumn) -> list[str]:
    """The columns a scorer fills for ``item``."""
    return [achieved_header(item), note_header(item)] if item.yes_no else [score_header(item)]


def yes_no_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return YES if value > 0 else NO


def _entries(item: ItemColumn, row: MentorRow) -> list[Any]:
    value = row.scores.get(item.id)
    if item.yes_no:
        return [yes_no_text(value), row.notes.get(item.id) if value else None]
    return [_number(value)]


def build(
    title: str,
    items: Sequence[ItemColumn],
    rows: Sequence[MentorRow],
    shown: Sequence[ItemColumn] = (),
) -> bytes:
    """The workbook: one row per mentor; the columns to fill per item (a score with its
    maximum in the header, or 是/否 and a name for a bonus item), then self-assessment,
    evidence figures and suggested score per item, and the summary. ``shown``: items of
    another scorer (the office's A items) shown read-only with the total and the rank."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet["A1"] = escape_cell(title)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = (
        "请只填写黄色的列：评分填 0 到满分（最多一位小数，不要使用公式），加分项填“是”或“否”，"
        "选“是”时写明竞赛或论文名称；留空表示暂不评分。填好后通过机器人卡片中的链接上传。"
        + ("灰色列为书院部评分、总分和院内排名，只读。" if shown else "")
    )
    headers = [NUMBER_HEADER, NAME_HEADER, COLLEGE_HEADER]
    for item in items:
        headers += entry_headers(item)
    editable = len(headers)
    for item in items:
        headers += [f"{item.id} 自评", f"{item.id} 建议分", f"{item.id} 记录情况"]
    first_shown = len(headers) + 1
    if shown:
        headers += [shown_header(item) for item in shown] + [TOTAL_HEADER, RANK_HEADER]
    headers.append(SUMMARY_HEADER)
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(HEADER_ROW, column, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for offset, row in enumerate(rows):
        r = FIRST_ROW + offset
        values: list[Any] = [row.number, row.name, row.college]
        for item in items:
            values += _entries(item, row)
        for item in items:
            own = row.self_scores.get(item.id)
            claimed = yes_no_text(own)
            if claimed and own and row.self_notes.get(item.id):
                claimed += f"（{row.self_notes[item.id]}）"
            values += [
                claimed if item.yes_no else _number(own),
                _number(row.suggested.get(item.id)),
                row.figures.get(item.id, ""),
            ]
        if shown:
            values += [_number(row.shown.get(item.id)) for item in shown]
            values += [_number(row.total), row.rank]
        values.append("查看" if row.summary_url else "未上传")
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(r, column, escape_cell(value))
            if 3 < column <= editable:
                cell.fill = EDITABLE
            elif shown and first_shown <= column < len(headers):
                cell.fill = READ_ONLY
        if row.summary_url:
            link = sheet.cell(r, len(headers))
            link.hyperlink = row.summary_url
            link.font = Font(color="0563C1", underline="single")
    sheet.freeze_panes = sheet.cell(FIRST_ROW, 4)
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 18
    for column in range(4, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# --- reading back ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """Scores read from a workbook: {staff number: {item: score}}; empty cells left out.
    ``notes``: {staff number: {bonus item: the competition or paper}} for each 是."""

    scores: dict[str, dict[str, Decimal]]
    problems: list[str]
    notes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse(
    content: bytes,
    items: Sequence[ItemColumn],
    mentors: Mapping[str, str],
    *,
    decimals: int = 1,
) -> Parsed:
    """Read every score cell. ``mentors``: staff number → name of those this workbook may
    score. Every problem is reported, each naming its row and column."""
    if len(content) > MAX_BYTES:
        return Parsed({}, [f"文件太大：评分表不能超过 {MAX_BYTES // 1024 // 1024} MB。"])
    refused = archive_problem(content, SCORING_WORKBOOK)
    if refused is not None:
        return Parsed({}, [f"{refused}请上传机器人发给您的评分表。"])
    try:
        book = load_workbook(io.BytesIO(content), data_only=False, read_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        return Parsed({}, ["无法读取这个工作簿，文件可能已损坏，请重新下载评分表后填写。"])
    sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
    header_row, columns = _find_header(sheet)
    problems: list[str] = []
    if header_row is None:
        return Parsed({}, [f"找不到表头（第 {HEADER_ROW} 行应有“{NUMBER_HEADER}”列）。"])
    number_column = columns.get(NUMBER_HEADER)
    score_columns: dict[str, int] = {}
    note_columns: dict[str, int] = {}
    for header, column in columns.items():
        for pattern, found in ((SCORE_COLUMN, score_columns), (ACHIEVED_COLUMN, score_columns)):
            match = pattern.match(header)
            if match:
                found[match.group(1)] = column
        match = NOTE_COLUMN.match(header)
        if match:
            note_columns[match.group(1)] = column
    for item in items:
        if item.id not in score_columns:
            problems.append(f"缺少列：{entry_headers(item)[0]}")
        if item.yes_no and item.id not in note_columns:
            problems.append(f"缺少列：{note_header(item)}")
    expected = {item.id for item in items}
    for item_id, column in sorted(score_columns.items()):
        if item_id not in expected:
            problems.append(
                f"第 {header_row} 行 {get_column_letter(column)} 列：“{item_id}”不是本表应评的项目"
            )
    if number_column is None:
        problems.append(f"缺少列：{NUMBER_HEADER}")
        return Parsed({}, problems)
    by_id = {item.id: item for item in items}
    scores: dict[str, dict[str, Decimal]] = {}
    notes: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for r in range(header_row + 1, sheet.max_row + 1):
        raw_number = sheet.cell(r, number_column).value
        row_cells = {item_id: sheet.cell(r, col) for item_id, col in score_columns.items()}
        if raw_number in (None, "") and all(c.value in (None, "") for c in row_cells.values()):
            continue
        where = f"第 {r} 行"
        number = _text(raw_number)
        if not number:
            problems.append(f"{where} {get_column_letter(number_column)} 列：工号为空")
            continue
        if number not in mentors:
            problems.append(f"{where}：工号 {number} 不是本表范围内的导师")
            continue
        if number in seen:
            problems.append(f"{where}：工号 {number} 与第 {seen[number]} 行重复")
            continue
        seen[number] = r
        row_scores: dict[str, Decimal] = {}
        for item_id, cell in row_cells.items():
            item = by_id.get(item_id)
            if item is None:
                continue
            column = get_column_letter(cell.column)
            if item.yes_no:
                note_column = note_columns.get(item_id)
                note_cell = None if note_column is None else sheet.cell(r, note_column)
                problem, value, note = _achieved(cell, note_cell, item)
                if note:
                    notes.setdefault(number, {})[item_id] = note
            else:
                problem, value = _score(cell, item, decimals)
            if problem:
                problems.append(f"{where} {column} 列（{item_id}）：{problem}")
            elif value is not None:
                row_scores[item_id] = value
        scores[number] = row_scores
    if problems:
        return Parsed({}, problems)
    return Parsed(scores, problems, notes)


def _achieved(
    cell: Any, note_cell: Any, item: ItemColumn
) -> tuple[str | None, Decimal | None, str | None]:
    """(problem, value, note) of a bonus item: 是 → its maximum with the named competition
    or paper, 否 → 0, empty → not scored; anything else is refused."""
    value = cell.value
    if cell.data_type == "f" or (isinstance(value, str) and value.strip().startswith("=")):
        return "不能使用公式，请填写“是”或“否”", None, None
    text = _text(value)
    if not text:
        return None, None, None
    if text not in (YES, NO):
        return f"“{text[:20]}”无效：加分项只填“是”或“否”（达成即加分，不按分数计）", None, None
    if text == NO:
        return None, Decimal(0), None
    note = _text(note_cell.value if note_cell is not None else None)
    if not note:
        return f"选“是”时请在“{note_header(item)}”列写明竞赛或论文名称", None, None
    if len(note) > NOTE_MAX:
        return f"竞赛或论文名称不能超过 {NOTE_MAX} 个字", None, None
    return None, item.maximum, note


def _find_header(sheet: Any) -> tuple[int | None, dict[str, int]]:
    for r in range(1, min(sheet.max_row, 10) + 1):
        headers = {
            _text(sheet.cell(r, c).value): c
            for c in range(1, sheet.max_column + 1)
            if sheet.cell(r, c).value not in (None, "")
        }
        if NUMBER_HEADER in headers:
            return r, headers
    return None, {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _score(cell: Any, item: ItemColumn, decimals: int) -> tuple[str | None, Decimal | None]:
    value = cell.value
    if cell.data_type == "f" or (isinstance(value, str) and value.strip().startswith("=")):
        return "不能使用公式，请直接填写分数", None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return f"“{value}”不是分数", None
    number = parse_number(str(value))  # finite only: never NaN or Infinity
    if number is None:
        return f"“{_text(value)[:20]}”不是数字", None
    if not Decimal(0) <= number <= item.maximum:
        return f"分数 {_text(value)[:20]} 超出 0–{fmt(item.maximum)}", None
    if number != number.quantize(Decimal(1).scaleb(-decimals)):
        return f"分数 {_text(value)} 超过 {decimals} 位小数", None
    return None, number.quantize(Decimal(1).scaleb(-decimals))
