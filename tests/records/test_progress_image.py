"""我的 as a picture: a valid PNG 720 px wide, met rows green and short ones amber, every
character drawn from the font (no .notdef boxes); through signed callbacks the picture is
stored and queued just before the text, and without a font or with a failing store only the
text goes out."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import structlog
from PIL import Image, ImageDraw, ImageFont

from bot.chat.context import Context
from bot.core import fonts
from bot.core.models import OutboxMessage
from bot.core.storage import FileStore, LocalFileStore, StorageError
from bot.records import progress_image
from bot.records.progress import Progress, RatingSummary, Target
from handlers import progress as progress_handler

FACES = progress_image.load_fonts()
needs_font = pytest.mark.usefixtures("cjk_font")
TODAY = date(2025, 10, 15)
UNASSIGNED = "\u0378"  # no font maps it: what a missing character looks like (.notdef)


def _progress(*, satisfaction: str | None = "86.7", semester_known: bool = True) -> Progress:
    return Progress(
        [
            Target("本周个别交流", 1, 2),  # short, partly done
            Target("本学期集体活动", 2, 2),  # met
            Target("本学期与辅导员沟通", 1, 1),
            Target("本学期与学院负责人交流", 0, 1),  # short, nothing yet
            Target("本月计划", 1, 1),
            Target("本月宣传素材", 3, 2),  # more than the minimum
        ],
        semester_known,
        RatingSummary(4, Decimal(satisfaction)) if satisfaction else RatingSummary(0, None),
    )


def _render(result: Progress) -> bytes:
    assert FACES is not None
    return progress_image.render_png(result, today=TODAY, faces=FACES)


def _rgb(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def _mask(font: ImageFont.FreeTypeFont, character: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(character)
    return mask.size, bytes(mask)


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> set[str]:
    """The characters of ``text`` the font draws as its .notdef box."""
    notdef = _mask(font, UNASSIGNED)
    return {ch for ch in set(text) if not ch.isspace() and _mask(font, ch) == notdef}


def _drawn_texts(monkeypatch, result: Progress) -> list[tuple[str, ImageFont.FreeTypeFont]]:
    """Every (text, font) the renderer draws."""
    drawn: list[tuple[str, ImageFont.FreeTypeFont]] = []
    original = ImageDraw.ImageDraw.text

    def recording(self, xy, text, *args, **kwargs):
        drawn.append((text, kwargs["font"]))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    _render(result)
    return drawn


# --- the font ---------------------------------------------------------------------------------


@needs_font
def test_the_simplified_chinese_face_of_the_collection_is_loaded():
    regular, bold = fonts.cjk_font_file(fonts.REGULAR), fonts.cjk_font_file(fonts.BOLD)
    assert regular is not None and bold is not None
    assert regular.family in fonts.CJK_FAMILIES
    # Noto Sans CJK is one .ttc holding JP, KR, SC, TC and HK: the index picks SC, not JP
    assert FACES is not None
    assert FACES.label.getname()[0] == regular.family
    assert FACES.title.getname() == (bold.family, "Bold" if bold.weight >= 700 else "Regular")
    if regular.path.endswith(".ttc") and "Noto Sans CJK" in regular.family:
        assert regular.family == "Noto Sans CJK SC" and regular.index > 0
    assert progress_image.load_fonts() is progress_image.load_fonts()  # opened once


def test_no_fonts_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    progress_image.load_fonts.cache_clear()
    try:
        assert fonts.cjk_font_file() is None
        assert progress_image.load_fonts() is None
    finally:
        progress_image.load_fonts.cache_clear()


def test_the_shared_finder_is_what_the_charts_use():
    from bot.cycle import charts

    assert charts.cjk_family is fonts.cjk_family
    found = fonts.cjk_font_file()
    assert (found.family if found else None) == fonts.cjk_family()


# --- the picture ------------------------------------------------------------------------------


@needs_font
def test_a_valid_png_as_wide_as_a_phone_screen():
    result = _progress()
    png = _render(result)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (progress_image.WIDTH, progress_image.image_height(result))
    assert image.size[0] == 720 and 600 < image.size[1] < 900
    assert len(png) < 300_000
    assert _render(result) == png  # the same figures, the same file (stored once, by content)


@needs_font
def test_met_rows_are_green_and_short_ones_amber():
    result = _progress()
    image = _rgb(_render(result))
    green, amber = progress_image.GREEN, progress_image.AMBER
    for index, target in enumerate(result.targets):
        left, top, right, _ = progress_image.icon_box(index)
        # inside the circle, above the tick or bar drawn on it
        assert image.getpixel(((left + right) // 2, top + 5)) == (green if target.met else amber)
        x0, y0, x1, y1 = progress_image.bar_box(index)
        start = image.getpixel((x0 + 10, (y0 + y1) // 2))
        end = image.getpixel((x1 - 10, (y0 + y1) // 2))
        if target.met:
            assert start == end == green, target
        elif target.done:
            assert (start, end) == (amber, progress_image.TRACK), target
            middle = image.getpixel((x0 + (x1 - x0) // 2 - 10, (y0 + y1) // 2))
            assert middle == amber  # 1 of 2: half the bar
        else:
            assert start == end == progress_image.TRACK, target
    colours = {rgb for _, rgb in image.getcolors(maxcolors=1 << 16) or []}
    assert {green, amber} <= colours


@needs_font
def test_every_character_drawn_has_a_glyph(monkeypatch):
    drawn = _drawn_texts(monkeypatch, _progress(semester_known=False))
    texts = [text for text, _ in drawn]
    assert "我的工作进度" in texts and "本学期与学院负责人交流" in texts
    assert "学生评价：4 项活动，平均满意度 86.7%" in texts
    assert any("学期日期尚未设置" in text for text in texts)
    missing = {text: missing_glyphs(font, text) for text, font in drawn}
    assert not {text: chars for text, chars in missing.items() if chars}


@needs_font
def test_the_missing_glyph_check_does_catch_boxes():
    """The inverse of the test above: a character the font lacks is found."""
    assert FACES is not None
    assert missing_glyphs(FACES.label, f"学生{UNASSIGNED}评价\U0001f642") == {
        UNASSIGNED,
        "\U0001f642",
    }
    assert missing_glyphs(FACES.label, "学生评价：暂无（评价满3人的活动才显示汇总）") == set()


@needs_font
def test_without_ratings_the_line_says_so_and_the_picture_is_shorter(monkeypatch):
    drawn = [text for text, _ in _drawn_texts(monkeypatch, _progress(satisfaction=None))]
    assert "学生评价：暂无（评价满3人的活动才显示汇总）" in drawn
    assert not any("满意度" in text for text in drawn)
    assert progress_image.image_height(_progress(satisfaction=None)) < progress_image.image_height(
        _progress()
    )


# --- through signed callbacks -----------------------------------------------------------------


def _rows(database, userid: str) -> list[OutboxMessage]:
    with database.session() as session:
        return list(
            session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.userid == userid)
                .order_by(OutboxMessage.id)
            )
        )


def _files(app) -> FileStore:
    return FileStore.from_settings(app.extensions["settings"], app.instance_path)


@needs_font
@pytest.mark.parametrize("how", ["command", "menu"])
def test_mine_queues_the_picture_then_the_text(app, phone, database, world, how):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    phone.new(world.mentor)
    if how == "command":
        phone.say(world.mentor, "我的")
    else:
        phone.menu(world.mentor, progress_handler.MENU_MINE)
    image, text = _rows(database, world.mentor)[-2:]
    assert (image.msgtype, text.msgtype) == ("image", "markdown")
    assert image.id < text.id  # the picture is sent first, the text stays last on screen
    assert "本周个别交流" in text.payload["markdown"]["content"]
    assert image.payload["image"]["filename"] == "我的进度.png"
    key = image.payload["image"]["storage_key"]
    content = _files(app).read(key)
    with Image.open(io.BytesIO(content)) as picture:
        assert (picture.format, picture.width) == ("PNG", 720)
    # the one contact this week: the first row is half amber
    x0, y0, x1, y1 = progress_image.bar_box(0)
    row = _rgb(content)
    assert row.getpixel((x0 + 10, (y0 + y1) // 2)) == progress_image.AMBER
    assert row.getpixel((x1 - 10, (y0 + y1) // 2)) == progress_image.TRACK


def test_people_who_are_not_mentors_get_the_refusal_only(phone, database, world):
    phone.say(world.student, "我的")
    [row] = _rows(database, world.student)
    assert row.msgtype == "text" and "只有异科导师" in row.payload["text"]["content"]


def test_without_a_cjk_font_only_the_text_goes_out(phone, database, world, monkeypatch):
    monkeypatch.setattr(progress_image, "load_fonts", lambda: None)
    with structlog.testing.capture_logs() as logs:
        phone.say(world.mentor, "我的")
    assert [row.msgtype for row in _rows(database, world.mentor)] == ["markdown"]
    [skipped] = [e for e in logs if e["event"] == "progress_image_skipped"]
    assert skipped["reason"] == "no_cjk_font" and skipped["log_level"] == "warning"
    assert set(skipped) == {"event", "reason", "log_level"}  # nothing about the person


@needs_font
def test_a_failing_file_store_does_not_stop_the_text(phone, database, world, monkeypatch):
    def refuse(self, content, suffix, now):
        raise StorageError("对象存储 s3://bucket 写入失败（ServiceUnavailable）")

    monkeypatch.setattr(LocalFileStore, "put", refuse)
    with structlog.testing.capture_logs() as logs:
        phone.say(world.mentor, "我的")
    [row] = _rows(database, world.mentor)
    assert row.msgtype == "markdown" and "本周个别交流" in row.payload["markdown"]["content"]
    [failed] = [e for e in logs if e["event"] == "progress_image_failed"]
    assert failed["reason"] == "file_store" and "StorageError" in failed["error"]


def test_without_a_file_store_no_picture_is_drawn(app, database, world, monkeypatch):
    def draw(*args, **kwargs):
        raise AssertionError("nothing to draw for: no file store")

    monkeypatch.setattr(progress_image, "render_png", draw)
    with database.session() as session, structlog.testing.capture_logs() as logs:
        ctx = Context(
            person=SimpleNamespace(userid=world.mentor),  # type: ignore[arg-type]
            session=session,
            now=datetime(2025, 10, 15, 2, 0, tzinfo=UTC),
            settings=app.extensions["settings"],
            callback_key="test",
            files=None,
        )
        assert progress_handler.send_progress_image(ctx, _progress()) is False
    assert _rows(database, world.mentor) == []
    assert [(e["event"], e["reason"]) for e in logs] == [
        ("progress_image_skipped", "no_file_store")
    ]
