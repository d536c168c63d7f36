"""Cell formats of the roster workbook: one parser per column format (``SheetSpec`` columns
name their format), each turning a non-empty cell into a typed value or raising
:class:`BadCell` with the reason in Chinese. ``cell_text`` first trims a cell and undoes what
Excel does to typed numbers and dates. Checks between rows and sheets are in
:mod:`bot.roster.validate`; these look at one cell at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from bot.core.models import Role, UnitKind
from bot.roster.calendar import parse_year_code
from bot.roster.columns import ADMIN_ROLE_LABELS, UNIT_KIND_LABELS


class BadCell(ValueError):
    """A cell does not have the column's format; the message says why (Chinese)."""


UNIT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
NUMBER = re.compile(r"[A-Za-z0-9]{1,32}")
USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_@.-]{0,63}")
GRADE = re.compile(r"(\d{4})\s*级?")
DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
WEEK_SEPARATORS = re.compile(r"[,，、;；\s]+")


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text; numbers typed into Excel lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _unit_code(raw: Any, text: str) -> str:
    if not UNIT_CODE.fullmatch(text):
        raise BadCell("格式不正确（只能包含字母、数字、_ 和 -，最长32位）")
    return text


def _number(raw: Any, text: str) -> str:
    if not NUMBER.fullmatch(text):
        raise BadCell("格式不正确（只能包含字母和数字，最长32位）")
    return text


def _limited(limit: int) -> Callable[[Any, str], str]:
    def parse(raw: Any, text: str) -> str:
        if len(text) > limit:
            raise BadCell(f"太长（最多{limit}个字）")
        return text

    return parse


def _userid(raw: Any, text: str) -> str:
    if not USERID.fullmatch(text):
        raise BadCell("格式不正确（只能包含字母、数字和 _-@.，以字母或数字开头，最长64位）")
    return text


def _unit_kind(raw: Any, text: str) -> UnitKind:
    if text not in UNIT_KIND_LABELS:
        raise BadCell("不正确（应为 学院、书院部 或 其他单位）")
    return UNIT_KIND_LABELS[text]


def _admin_role(raw: Any, text: str) -> Role:
    if text not in ADMIN_ROLE_LABELS:
        raise BadCell("不正确（应为 " + "、".join(ADMIN_ROLE_LABELS) + "）")
    return ADMIN_ROLE_LABELS[text]


def _grade(raw: Any, text: str) -> str:
    match = GRADE.fullmatch(text)
    if not match or not 1950 <= int(match.group(1)) <= 2200:
        raise BadCell("格式不正确（应为入学年份，如 2024）")
    return match.group(1)


def _year(raw: Any, text: str) -> str:
    if parse_year_code(text) is None:
        raise BadCell("格式不正确（应为 2025-2026 这样的两个相邻年份）")
    return text


def _semester(raw: Any, text: str) -> int:
    if text not in ("1", "2"):
        raise BadCell("不正确（应为 1 或 2）")
    return int(text)


def _date(raw: Any, text: str) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    match = DATE_TEXT.fullmatch(text)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    raise BadCell("不是有效日期（应为日期单元格或 2025-09-08）")


def _weeks(raw: Any, text: str) -> frozenset[int]:
    weeks = set()
    for part in WEEK_SEPARATORS.split(text):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise BadCell("格式不正确（应为以逗号分隔的周次，如 4,10）")
        weeks.add(int(part))
    return frozenset(weeks)


_YES = ("是", "y", "yes", "true", "1")
_NO = ("否", "n", "no", "false", "0")


def _yes_no(raw: Any, text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise BadCell("格式不正确（应为“是”或“否”）")


PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "unit_code": _unit_code,
    "number": _number,
    "person_name": _limited(50),
    "unit_name": _limited(100),
    "userid": _userid,
    "unit_kind": _unit_kind,
    "admin_role": _admin_role,
    "grade": _grade,
    "text": _limited(100),
    "year": _year,
    "semester": _semester,
    "date": _date,
    "weeks": _weeks,
    "yes_no": _yes_no,
}
