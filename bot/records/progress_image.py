"""我的 as a picture: one row per minimum (label, progress bar, done / goal; met in green with a
tick, short in amber) and the ratings summary (aggregates only), 720 px wide for a phone.

``render_png`` is a pure function (the progress and the day in, PNG bytes out), drawn with
Pillow: about 15 ms (``benchmarks/bench_progress_image.py``), so it can run inside a WeCom
callback. It needs a CJK font (:func:`bot.core.fonts.cjk_font_file`), opened once per process by
:func:`load_fonts`; without one ``load_fonts`` is None and the caller sends the text alone.

The picture carries no name: the text reply greets the mentor, and a stored file is named by
its content, so two mentors with the same figures on the same day share one file.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import structlog
from PIL import Image, ImageDraw, ImageFont

from bot.core import fonts
from bot.records.progress import Progress, Target

log = structlog.get_logger(__name__)

WIDTH = 720
PADDING = 36
HEADER_HEIGHT = 84  # title and date
ROW_HEIGHT = 86
ICON = 30  # the tick / pending circle, in pixels
TEXT_LEFT = PADDING + ICON + 14
BAR_OFFSET, BAR_HEIGHT = 52, 14  # from the top of a row
LINE_HEIGHT = 38  # the lines under the rows

BACKGROUND = (255, 255, 255)
INK = (31, 35, 41)
MUTED = (134, 144, 156)
RULE = (229, 230, 235)
TRACK = (235, 237, 240)
GREEN = (7, 193, 96)  # met: the colour of the college heads' charts
AMBER = (245, 166, 35)  # not yet met

_SUPERSAMPLE = 4  # icons are drawn 4× and scaled down: smooth circles
_DRAWING = threading.Lock()  # Pillow's FreeType faces are shared by every thread


@dataclass(frozen=True)
class ProgressFonts:
    title: ImageFont.FreeTypeFont
    label: ImageFont.FreeTypeFont
    figure: ImageFont.FreeTypeFont
    note: ImageFont.FreeTypeFont
    regular: fonts.FontFile
    bold: fonts.FontFile


def _truetype(font: fonts.FontFile, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        font.path, size, index=font.index, layout_engine=ImageFont.Layout.BASIC
    )


@lru_cache(maxsize=1)
def load_fonts() -> ProgressFonts | None:
    """The CJK faces of the picture, opened once per process; None without a CJK font (or if
    FreeType cannot open the one found: logged)."""
    regular = fonts.cjk_font_file(fonts.REGULAR)
    if regular is None:
        return None
    bold = fonts.cjk_font_file(fonts.BOLD) or regular
    try:
        return ProgressFonts(
            title=_truetype(bold, 34),
            label=_truetype(regular, 27),
            figure=_truetype(bold, 28),
            note=_truetype(regular, 22),
            regular=regular,
            bold=bold,
        )
    except OSError as exc:
        log.warning("progress_font_unreadable", path=regular.path, error=str(exc))
        return None


def row_top(index: int) -> int:
    """The top of row ``index`` (0: the first target)."""
    return PADDING + HEADER_HEIGHT + index * ROW_HEIGHT


def icon_box(index: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of row ``index``'s circle."""
    top = row_top(index)
    return PADDING, top, PADDING + ICON, top + ICON


def bar_box(index: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of row ``index``'s bar track."""
    top = row_top(index) + BAR_OFFSET
    return TEXT_LEFT, top, WIDTH - PADDING, top + BAR_HEIGHT


def _lines(result: Progress) -> list[tuple[str, bool]]:
    """The lines under the rows: (text, muted)."""
    summary = result.ratings
    if summary.satisfaction is None:
        lines = [(f"学生评价：暂无（评价满{summary.threshold}人的活动才显示汇总）", False)]
    else:
        lines = [
            (f"学生评价：{summary.activities} 项活动，平均满意度 {summary.satisfaction}%", False),
            (f"仅统计评价满{summary.threshold}人的活动，评价匿名", True),
        ]
    if not result.semester_known:
        lines.append(("本学年的学期日期尚未设置，“本学期”按整个学年统计", True))
    return lines


def image_height(result: Progress) -> int:
    """The picture's height: the header, one row per target, the lines under them."""
    rows = row_top(len(result.targets))
    return rows + 20 + len(_lines(result)) * LINE_HEIGHT + PADDING - 8


@lru_cache(maxsize=2)
def _icon(met: bool) -> Image.Image:
    """A filled circle, green with a white tick or amber with a white bar (RGBA, ICON px)."""
    size = ICON * _SUPERSAMPLE
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.ellipse((0, 0, size - 1, size - 1), fill=GREEN if met else AMBER)
    stroke = round(size * 0.11)
    if met:
        tick = [(0.27, 0.53), (0.44, 0.69), (0.74, 0.36)]
        draw.line(
            [(x * size, y * size) for x, y in tick], fill="white", width=stroke, joint="curve"
        )
    else:
        middle = size / 2
        draw.line([(size * 0.3, middle), (size * 0.7, middle)], fill="white", width=stroke)
    return icon.resize((ICON, ICON), Image.Resampling.LANCZOS)


def _row(
    draw: ImageDraw.ImageDraw,
    canvas: Image.Image,
    faces: ProgressFonts,
    index: int,
    target: Target,
) -> None:
    colour = GREEN if target.met else AMBER
    left, top, _, bottom = icon_box(index)
    icon = _icon(target.met)
    canvas.paste(icon, (left, top), icon)
    middle = (top + bottom) // 2
    draw.text((TEXT_LEFT, middle), target.label, font=faces.label, fill=INK, anchor="lm")
    goal = f" / {target.goal}"
    goal_width = draw.textlength(goal, font=faces.label)
    right = WIDTH - PADDING
    draw.text((right, middle), goal, font=faces.label, fill=MUTED, anchor="rm")
    draw.text(
        (right - goal_width, middle), str(target.done), font=faces.figure, fill=colour, anchor="rm"
    )
    x0, y0, x1, y1 = bar_box(index)
    radius = BAR_HEIGHT // 2
    draw.rounded_rectangle((x0, y0, x1, y1), radius=radius, fill=TRACK)
    share = min(target.done, target.goal) / target.goal if target.goal > 0 else 1.0
    if share > 0:
        filled = max(x0 + BAR_HEIGHT, round(x0 + (x1 - x0) * share))
        draw.rounded_rectangle((x0, y0, filled, y1), radius=radius, fill=colour)


def render_png(result: Progress, *, today: date, faces: ProgressFonts) -> bytes:
    """The progress as a PNG, :data:`WIDTH` px wide. ``today`` (the local date the figures are
    counted at) is printed in the corner: the picture stays in the chat after the week ends."""
    height = image_height(result)
    with _DRAWING:
        canvas = Image.new("RGB", (WIDTH, height), BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        baseline = PADDING + 40
        draw.text((PADDING, baseline), "我的工作进度", font=faces.title, fill=INK, anchor="ls")
        draw.text(
            (WIDTH - PADDING, baseline),
            f"截至 {today.year}年{today.month}月{today.day}日",
            font=faces.note,
            fill=MUTED,
            anchor="rs",
        )
        rule = PADDING + HEADER_HEIGHT - 26
        draw.line([(PADDING, rule), (WIDTH - PADDING, rule)], fill=RULE, width=2)
        for index, target in enumerate(result.targets):
            _row(draw, canvas, faces, index, target)
        y = row_top(len(result.targets)) + 4
        draw.line([(PADDING, y), (WIDTH - PADDING, y)], fill=RULE, width=2)
        y += 16 + LINE_HEIGHT // 2
        for text, muted in _lines(result):
            font = faces.note if muted else faces.label
            draw.text((PADDING, y), text, font=font, fill=MUTED if muted else INK, anchor="lm")
            y += LINE_HEIGHT
        out = io.BytesIO()
        canvas.save(out, format="PNG", compress_level=1)  # zlib level 1: 4× faster, ~90 KB
    return out.getvalue()
