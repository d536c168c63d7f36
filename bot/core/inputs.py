"""Ids and numbers read from what people send: text, card keys, form fields, URLs, cells.

Pure functions that answer ``None`` for anything they refuse, never raise: the caller says
why in Chinese. ``str.isdigit`` and ``int`` are not enough (``"²".isdigit()`` is true and
``int("²")`` raises; ``int`` refuses more than 4,300 digits; the database refuses an id past
its integer type), nor is ``Decimal`` (it accepts ``NaN``, ``sNaN``, ``Infinity`` and
``1e999999999``, and comparing a NaN raises).

``IdConverter`` is the URL converter ``<id:name>``: an id out of range becomes ``NOT_AN_ID``
(0), which no row has, so the page answers its own Chinese 404.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask import Flask
from werkzeug.routing import BaseConverter

MAX_ID = 2**31 - 1  # the largest id a 32-bit INTEGER column (PostgreSQL's) holds
NOT_AN_ID = 0  # what an id out of range becomes in a URL: never a row's id
MAX_TEXT = 40  # longer text is never one of our ids or numbers
NUMBER_BOUND = Decimal(10) ** 12  # numbers are scores and counts: far below this

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋", "0123456789.-+")
_WHOLE = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")


def _plain(text: str) -> str:
    """Full-width digits (a Chinese keyboard's) as ASCII; nothing else is changed."""
    return text.strip().translate(_FULL_WIDTH)


def parse_whole(text: str, low: int, high: int) -> int | None:
    """A whole number written in digits (ASCII or full-width) within ``low..high``, else None."""
    plain = _plain(text)
    if len(plain) > MAX_TEXT or not _WHOLE.fullmatch(plain):
        return None
    value = int(plain)
    return value if low <= value <= high else None


def parse_id(text: str) -> int | None:
    """A row id (1..2**31-1) written in digits, else None."""
    return parse_whole(text, 1, MAX_ID)


def parse_number(text: str) -> Decimal | None:
    """A finite decimal number such as ``4.5``, ``-3`` or ``1e2``, smaller in size than
    10**12, else None: never NaN, sNaN or Infinity, no exponent beyond two digits."""
    plain = _plain(text)
    if len(plain) > MAX_TEXT or not _NUMBER.fullmatch(plain):
        return None
    try:
        value = Decimal(plain)
    except InvalidOperation:  # the pattern admits nothing Decimal refuses; kept to be sure
        return None
    if not value.is_finite() or abs(value) >= NUMBER_BOUND:
        return None
    return value + 0 if value.is_zero() else value  # "-0" is 0


def id_or_missing(text: str) -> int:
    """An id from an address (path or query): ``NOT_AN_ID`` when it is not one, so the
    lookup finds nothing and the page says so."""
    found = parse_id(text)
    return NOT_AN_ID if found is None else found


class IdConverter(BaseConverter):
    """``<id:record_id>``: digits only; an id out of range is ``NOT_AN_ID`` (never found)."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        return id_or_missing(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


def init_app(app: Flask) -> None:
    """Register ``<id:…>``; before any blueprint is registered (rules bind converters then)."""
    app.url_map.converters["id"] = IdConverter
