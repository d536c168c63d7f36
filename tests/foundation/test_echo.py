"""What a person typed, quoted back: short, on one line, without control characters."""

from __future__ import annotations

from bot.core.echo import echo


def test_a_long_text_is_cut_to_twenty_characters_and_an_ellipsis() -> None:
    assert echo("张" * 100_000) == "张" * 20 + "…"
    assert echo("张" * 20) == "张" * 20


def test_line_breaks_and_tabs_become_one_space() -> None:
    assert echo("张三\n\n李四\t王五\r\n") == "张三 李四 王五"


def test_control_and_direction_characters_are_dropped() -> None:
    assert echo("ab\x00c\x1b[31m\u202edcba\u2066") == "abc[31mdcba"
    assert echo("\x07\x08") == ""


def test_emoji_sequences_are_kept_when_they_fit() -> None:
    family = "👨\u200d👩\u200d👧"
    assert echo(family) == family


def test_a_shorter_limit() -> None:
    assert echo("2025-2026学年导师考核", limit=5) == "2025-…"
