"""Card keys are typed: a key packs its fields and unpacks to a frozen dataclass of them, or
refuses (CardKeyError, which the dispatcher answers as a stale card)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import Literal

import pytest

from bot.chat.router import CardKey, CardKeyError


@dataclass(frozen=True)
class Tap:
    record_id: int
    who: Literal["counsellor", "leader"]
    note: str


KEY = CardKey("demo_tap", Tap)


def test_a_key_round_trips_to_its_typed_fields():
    packed = KEY.pack(12, "leader", "a-b_c")
    assert packed == "demo_tap:12:leader:a-b_c"
    tap = KEY.unpack(packed)
    assert tap == Tap(record_id=12, who="leader", note="a-b_c")
    assert isinstance(tap.record_id, int)
    with pytest.raises(FrozenInstanceError):
        tap.record_id = 13  # type: ignore[misc]
    assert KEY.fields == ("record_id", "who", "note")


@pytest.mark.parametrize(
    "key",
    [
        "demo_tap:12:leader",  # a field missing
        "demo_tap:12:leader:x:y",  # one too many
        "other:12:leader:x",  # another key's name
        "demo_tap:abc:leader:x",  # not a number
        "demo_tap:99999999999999999999:leader:x",  # out of range
        "demo_tap:-1:leader:x",
        "demo_tap:²:leader:x",
        "demo_tap:12:dean:x",  # not one of the Literal's values
        "demo_tap:12:leader:",  # empty
        "demo_tap:12:leader:x\n",  # a trailing newline
    ],
)
def test_anything_else_is_refused(key):
    with pytest.raises(CardKeyError):
        KEY.unpack(key)


def test_packing_refuses_what_wecom_would():
    with pytest.raises(ValueError, match="needs"):
        KEY.pack(12, "leader")
    with pytest.raises(ValueError, match="characters"):
        KEY.pack(12, "leader", "含中文")


def test_a_field_type_the_key_cannot_read_is_a_programming_error():
    @dataclass(frozen=True)
    class Odd:
        amount: float

    with pytest.raises(TypeError, match="str, int or Literal"):
        CardKey("odd", Odd)
