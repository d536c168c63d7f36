"""The installed CJK font, for pictures with Chinese text: the college heads' charts (drawn by
matplotlib, which takes a family name) and the mentor's progress image (drawn by Pillow, which
takes a font file and, for a collection, the index of the face in it).

Both are found through matplotlib's font manager (Debian's ``fonts-noto-cjk`` provides
Noto Sans CJK SC), which since matplotlib 3.11 lists every face of a collection (.ttc) with
its index and draws the face a family name names; earlier versions saw only a collection's
first face (JP in Noto's), hence ``matplotlib>=3.11``. Without a CJK font both are None and
the callers send their text without the picture. matplotlib is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def choose_face(faces: Iterable[Any], weight: int = REGULAR) -> FontFile | None:
    """The face to draw Chinese with among ``faces`` (entries of matplotlib's font list, which
    has one per face of every font file: each face of a collection with its ``index``): the
    first family of :data:`CJK_FAMILIES` that has an upright face, and of its upright faces
    the one closest to ``weight``. None without one. A collection whose first face is JP
    (Noto's .ttc files hold JP, KR, SC, TC and HK) gives its SC face and that face's index."""
    upright = [face for face in faces if face.style == "normal"]
    names = {face.name for face in upright}
    family = next((family for family in CJK_FAMILIES if family in names), None)
    if family is None:
        return None
    best = min(
        (face for face in upright if face.name == family),
        key=lambda face: (abs(_weight(face.weight) - weight), face.fname, face.index),
    )
    return FontFile(family, best.fname, best.index, _weight(best.weight))


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The first installed CJK family of :data:`CJK_FAMILIES`, or None. Fonts installed
    after matplotlib cached its font list are found too (their files are added, every face
    of a collection)."""
    from matplotlib import font_manager

    def find() -> FontFile | None:
        return choose_face(font_manager.fontManager.ttflist)

    found = find()
    if found is None:
        for path in font_manager.findSystemFonts():
            name = path.rsplit("/", 1)[-1].lower()
            if "cjk" in name or "wqy" in name or "sourcehan" in name:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = find()
    return None if found is None else found.family


def _weight(value: Any) -> int:
    from matplotlib import font_manager

    if isinstance(value, str):
        return int(font_manager.weight_dict.get(value, REGULAR))
    return int(value)


def cjk_font_file(weight: int = REGULAR) -> FontFile | None:
    """The upright face of :func:`cjk_family` closest to ``weight`` (400 regular, 700 bold),
    with its index in its file, or None without a CJK font."""
    if cjk_family() is None:
        return None
    from matplotlib import font_manager

    return choose_face(font_manager.fontManager.ttflist, weight)
