"""What a person typed, quoted back to them in a reply: short and on one line.

A reply such as 没有找到“…” quotes the person's own words. ``echo`` keeps that quote short (a
100 KB message must not come back as a 100 KB reply) and harmless: line breaks and tabs become
a space, control and text-direction characters are dropped (so a quote cannot reorder or hide
the text around it), and more than ``limit`` characters are cut with "…".
"""

from __future__ import annotations

import re

ECHO_CHARS = 20
ELLIPSIS = "…"

_SPACES = re.compile(r"\s+")  # line breaks, tabs and other spaces
# control characters (C0, DEL, C1), lone surrogates, and the bidirectional marks, embeddings,
# overrides and isolates that could make the reply read differently
_DROPPED = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` fit to quote in a reply: on one line, without control characters, and at most
    ``limit`` characters (more are cut, followed by "…")."""
    kept = _SPACES.sub(" ", _DROPPED.sub("", _SPACES.sub(" ", text))).strip()
    return kept if len(kept) <= limit else kept[:limit].rstrip() + ELLIPSIS
