"""Which CJK face pictures are drawn with: every face of a collection (.ttc) is considered, so
a machine whose only CJK font is Noto Serif CJK (faces JP, KR, SC, TC, HK) draws with its SC
face, and that face's index reaches Pillow and matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTCollection, TTFont
from matplotlib import font_manager
from matplotlib.font_manager import FontEntry, FontProperties
from PIL import ImageFont

from bot.core import fonts
from bot.core.fonts import FontFile, choose_face

REGIONS = ("JP", "KR", "SC", "TC", "HK")  # the order of Noto's CJK collections
SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SERIF_BOLD = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"


def _collection(path: str, family: str, weight: int) -> list[FontEntry]:
    """matplotlib's font list entries for one collection file: one per face, with its index."""
    return [
        FontEntry(fname=path, index=i, name=f"{family} {region}", weight=weight)
        for i, region in enumerate(REGIONS)
    ]


def test_the_sc_face_of_a_collection_whose_first_face_is_jp_is_chosen():
    listing = _collection(SERIF, "Noto Serif CJK", 400) + _collection(
        SERIF_BOLD, "Noto Serif CJK", 700
    )
    assert choose_face(listing) == FontFile("Noto Serif CJK SC", SERIF, 2, 400)
    assert choose_face(listing, fonts.BOLD) == FontFile("Noto Serif CJK SC", SERIF_BOLD, 2, 700)


def test_the_preferred_family_wins_and_only_upright_faces_count():
    sans = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    listing = _collection(SERIF, "Noto Serif CJK", 400) + _collection(sans, "Noto Sans CJK", 400)
    assert choose_face(listing) == FontFile("Noto Sans CJK SC", sans, 2, 400)
    italic = [FontEntry(fname="/x.ttf", name="Noto Sans CJK SC", style="italic", weight=400)]
    assert choose_face(italic + _collection(SERIF, "Noto Serif CJK", 400)).family == (
        "Noto Serif CJK SC"
    )
    without_sc = [entry for entry in listing if not entry.name.endswith(" SC")]
    assert choose_face(without_sc) is None
    assert choose_face([]) is None


@pytest.fixture
def serif_collection(tmp_path: Path) -> str:
    """A real collection file laid out as NotoSerifCJK-Regular.ttc (faces JP, KR, SC, TC, HK),
    built from matplotlib's DejaVu Sans with the faces renamed: real FreeType faces, without
    CJK glyphs (the choice is what is tested here, not the drawing)."""
    source = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
    faces = []
    for region in REGIONS:
        face = TTFont(source)
        family = f"Noto Serif CJK {region}"
        for record in face["name"].names:
            if record.nameID in (1, 16):
                record.string = family
            elif record.nameID == 4:
                record.string = f"{family} Regular"
            elif record.nameID == 6:
                record.string = f"NotoSerifCJK{region}-Regular"
        faces.append(face)
    collection = TTCollection()
    collection.fonts = faces
    path = tmp_path / "NotoSerifCJK-Regular.ttc"
    collection.save(path)
    return str(path)


def test_the_only_cjk_font_is_a_collection_whose_first_face_is_jp(serif_collection, monkeypatch):
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [])  # this machine has no other font
    manager.addfont(serif_collection)  # as matplotlib lists an installed file
    fonts.cjk_family.cache_clear()
    try:
        assert fonts.cjk_family() == "Noto Serif CJK SC"
        chosen = fonts.cjk_font_file(fonts.REGULAR)
        assert chosen == FontFile("Noto Serif CJK SC", serif_collection, 2, 400)
        # Pillow (the progress picture) opens that face of the file
        face = ImageFont.truetype(chosen.path, 20, index=chosen.index)
        assert face.getname()[0] == "Noto Serif CJK SC"
        # matplotlib (the charts, given the family name) draws with that face too
        found = manager.findfont(FontProperties(family=chosen.family), fallback_to_default=False)
        assert (str(found), found.face_index) == (serif_collection, 2)
    finally:
        fonts.cjk_family.cache_clear()
        manager._findfont_cached.cache_clear()  # forget the temporary file's lookups
