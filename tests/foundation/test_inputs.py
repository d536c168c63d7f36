"""Ids and numbers read from what people send: refused with None, never an exception."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.inputs import MAX_ID, parse_id, parse_number, parse_whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("42", 42),
        (" 7 ", 7),
        ("００７", 7),  # full-width digits from a Chinese keyboard
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999999", None),
        ("9" * 5000, None),  # more digits than int() converts
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1e3", None),
        ("²", None),  # str.isdigit() says yes
        ("٣", None),  # int() would read it
        ("", None),
        ("1 2", None),
    ],
)
def test_parse_id(text, expected):
    assert parse_id(text) == expected


def test_parse_whole_is_bounded():
    assert parse_whole("12", 1, 12) == 12
    assert parse_whole("13", 1, 12) is None
    assert parse_whole("0", 0, 2) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.5", Decimal("4.5")),
        ("０.５", Decimal("0.5")),
        ("１．５", Decimal("1.5")),
        ("-3", Decimal(-3)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("1e2", Decimal(100)),
        ("-0", Decimal(0)),
        ("0.0", Decimal("0.0")),
    ],
)
def test_parse_number_reads_plain_numbers(text, expected):
    found = parse_number(text)
    assert found == expected
    assert found.is_signed() == (expected < 0)  # "-0" is read as 0


@pytest.mark.parametrize(
    "text",
    ["NaN", "nan", "sNaN", "-NaN", "Infinity", "-Inf", "inf", "1e999999999", "1e-999999999",
     "1e100", "1" * 13, "1_000", "0x10", "四", "", ".", "-", "1,5", "²"],
)  # fmt: skip
def test_parse_number_refuses_what_is_not_a_finite_number(text):
    assert parse_number(text) is None


@given(st.text(max_size=60))
def test_nothing_raises(text):
    parse_id(text)
    parse_whole(text, 1, 12)
    found = parse_number(text)
    assert found is None or (found.is_finite() and abs(found) < 10**12)
