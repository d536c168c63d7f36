"""The installed CJK font, for pictures with Chinese text: the college heads' charts (drawn by
matplotlib, which takes a family name) and the mentor's progress image (drawn by Pillow, which
takes a font file and, for a collection, the index of the face in it).

Both are found through matplotlib's font manager (Debian's ``fonts-noto-cjk`` provides
Noto Sans CJK SC); without a CJK font both are None and the callers send their text without
the picture. matplotlib is imported on first use only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
)
REGULAR, BOLD = 400, 700


@dataclass(frozen=True)
class FontFile:
    """One face of a font file: ``index`` is its place in a collection (.ttc; Noto Sans CJK
    holds the JP, KR, SC, TC and HK faces in one file), 0 for a single font."""

    family: str
    path: str
    index: int
    weight: int


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The first installed CJK family of :data:`CJK_FAMILIES`, or None. Fonts installed
    after matplotlib cached its font list are found too (their files are added)."""
    from matplotlib import font_manager

    def find() -> str | None:
        names = {font.name for font in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)

    family = find()
    if family is None:
        for path in font_manager.findSystemFonts():
            name = path.rsplit("/", 1)[-1].lower()
            if "cjk" in name or "wqy" in name or "sourcehan" in name:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        family = find()
    return family


def _weight(value: Any) -> int:
    from matplotlib import font_manager

    if isinstance(value, str):
        return int(font_manager.weight_dict.get(value, REGULAR))
    return int(value)


def cjk_font_file(weight: int = REGULAR) -> FontFile | None:
    """The upright face of :func:`cjk_family` closest to ``weight`` (400 regular, 700 bold),
    or None without a CJK font."""
    family = cjk_family()
    if family is None:
        return None
    from matplotlib import font_manager

    faces = [
        font
        for font in font_manager.fontManager.ttflist
        if font.name == family and font.style == "normal"
    ]
    if not faces:
        return None
    best = min(faces, key=lambda font: (abs(_weight(font.weight) - weight), font.fname))
    # matplotlib < 3.10 lists only the first face of a collection (index 0)
    return FontFile(family, best.fname, int(getattr(best, "index", 0)), _weight(best.weight))
