"""Exact number helpers: rounding of Fractions to Decimals, and rendering."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

Exact = int | Decimal | Fraction
HALF = Fraction(1, 2)


def round_to(value: Exact, places: int, mode: str = "half_up") -> Decimal:
    """``value`` rounded to ``places`` decimals (half_up, half_even or down), exactly."""
    x = Fraction(value) * 10**places
    whole = x.numerator // x.denominator  # floor
    rest = x - whole
    if mode == "half_up":
        up = rest >= HALF if x >= 0 else rest > HALF
    elif mode == "half_even":
        up = rest > HALF or (rest == HALF and whole % 2 == 1)
    elif mode == "down":
        up = x < 0 and rest != 0
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    return Decimal(whole + int(up)).scaleb(-places)


def round_to_step(value: Exact, step: Fraction) -> Decimal:
    """``value`` rounded half up to a multiple of ``step`` (e.g. 1/2), as a Decimal."""
    multiple = round_to(Fraction(value) / step, 0)
    result = Fraction(int(multiple)) * step
    return _decimal(result)


def _decimal(value: Fraction) -> Decimal:
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(quotient) != value:
        raise ValueError(f"{value} has no exact decimal form")
    return quotient


def has_decimals(value: Decimal, places: int) -> bool:
    """True when ``value`` is finite and has at most ``places`` decimals."""
    if not value.is_finite():
        return False
    scaled = value.scaleb(places)
    return scaled == scaled.to_integral_value()


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent: 10, 11.5, 70.8."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize()


def fmt(value: Exact) -> str:
    """A number for people: 10, 11.5, 70.8 (no exponent, no trailing zeros)."""
    if isinstance(value, Fraction):
        value = round_to(value, 4)
    return format(plain(Decimal(value)), "f")


def json_number(value: Decimal) -> int | float:
    """A JSON number: an int where whole, else the shortest float (scores have ≤ 1 decimal)."""
    value = plain(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)
