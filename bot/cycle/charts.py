"""The chart a college head receives with the ranking digest: the college's total-score
distribution (10-point bins) and each scored item's average against the whole school.

``college_chart`` turns a cycle's results into :class:`CollegeChart` (plain numbers);
``render_png`` draws it (a pure function: numbers in, PNG bytes out). Drawing needs a CJK font
(Debian's ``fonts-noto-cjk``, found by :func:`bot.core.fonts.cjk_family`); without one,
``render_png`` raises :class:`ChartFontMissing` before drawing anything, instead of rendering
the Chinese labels as empty boxes, and the caller sends the digest without the chart.

matplotlib is imported on first use (the Agg backend, no display) and drawing is serialised:
matplotlib's global settings are not thread-safe.
"""

from __future__ import annotations

import io
import itertools
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.core.fonts import CJK_FAMILIES as CJK_FAMILIES  # re-exported
from bot.core.fonts import cjk_family
from bot.core.models import ItemScore, ScoreSource
from bot.cycle.results import Results, source_of
from scoring import Rubric
from scoring.numbers import fmt

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 9.0, 110  # 880 × 990 pixels
COLLEGE_COLOUR, SCHOOL_COLOUR = "#07c160", "#a0a7b4"
_DRAWING = threading.Lock()


class ChartFontMissing(RuntimeError):
    """No CJK font is installed: the chart's Chinese text would render as boxes."""

    def __init__(self) -> None:
        super().__init__(
            "找不到中文字体（Noto Sans CJK SC 等），无法绘制图表；请安装 fonts-noto-cjk。"
            " / No CJK font found (e.g. Noto Sans CJK SC): install Debian's fonts-noto-cjk."
        )


@dataclass(frozen=True)
class ItemAverage:
    """One scored item: its maximum and the mean score in the college and in the school
    (None: nobody has that score yet)."""

    item: str
    maximum: Decimal
    college: Decimal | None
    school: Decimal | None


@dataclass(frozen=True)
class CollegeChart:
    title: str
    totals: tuple[Decimal, ...]  # the totals of the college's complete results
    incomplete: int  # the college's mentors without a total yet
    maximum: Decimal  # the rubric's maximum (bonus included)
    items: tuple[ItemAverage, ...]


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def college_chart(
    results: Results,
    scores: Mapping[tuple[int, str, ScoreSource], ItemScore],
    rubric: Rubric,
    *,
    college_id: int,
    title: str,
) -> CollegeChart:
    """The numbers of one college's chart: ``scores`` as ``results.saved_scores`` gives them."""
    group = {m.person.id for m in results.members if m.college.id == college_id}
    everyone = [m.person.id for m in results.members]
    totals = [results.of(pid).total for pid in group]
    items = []
    for item in rubric.scored_items:
        source = source_of(rubric, item.id)
        values = {
            pid: Decimal(saved.tenths) / 10
            for pid in everyone
            if (saved := scores.get((pid, item.id, source))) is not None
        }
        items.append(
            ItemAverage(
                item.id,
                item.max,
                _mean([v for pid, v in values.items() if pid in group]),
                _mean(list(values.values())),
            )
        )
    return CollegeChart(
        title=title,
        totals=tuple(sorted(t for t in totals if t is not None)),
        incomplete=sum(t is None for t in totals),
        maximum=rubric.maximum,
        items=tuple(items),
    )


def score_bins(totals: Sequence[Decimal], maximum: Decimal) -> list[tuple[str, int]]:
    """10-point bins up to ``maximum`` (the last one closed, e.g. 100–105), from the bin of
    the lowest total, or from 40 points below the top bin if that is lower."""
    top = max(0, math.floor(maximum / 10) * 10 - (10 if maximum % 10 == 0 else 0))
    lowest = math.floor(min(totals) / 10) * 10 if totals else top
    start = max(0, min(lowest, top - 40))
    bins = []
    for low in range(start, top + 1, 10):
        last = low == top
        label = f"{low}–{fmt(maximum)}" if last else f"{low}–{low + 9}"
        count = sum(low <= t < low + 10 or (last and t >= low) for t in totals)
        bins.append((label, count))
    return bins


def render_png(chart: CollegeChart) -> bytes:
    """The chart as PNG bytes (880 × 990). ChartFontMissing without a CJK font."""
    family = cjk_family()
    if family is None:
        raise ChartFontMissing()
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    settings = {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
    }
    with _DRAWING, matplotlib.rc_context(settings):
        figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        figure.suptitle(chart.title, fontsize=15, fontweight="bold")
        top, bottom = figure.subplots(2, 1, height_ratios=[1, 1.15])
        _distribution(top, chart)
        _items(bottom, chart)
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _distribution(axes: Any, chart: CollegeChart) -> None:
    bins = score_bins(chart.totals, chart.maximum)
    labels = [label for label, _ in bins]
    counts = [count for _, count in bins]
    bars = axes.bar(labels, counts, color=COLLEGE_COLOUR, width=0.6)
    axes.bar_label(bars, labels=[str(c) if c else "" for c in counts], padding=2)
    axes.set_ylim(0, max([*counts, 1]) * 1.25)
    if not chart.totals:
        axes.text(0.5, 0.5, "暂无已完成的导师", transform=axes.transAxes, ha="center", color="#888")
    axes.yaxis.get_major_locator().set_params(integer=True)
    note = f"已完成 {len(chart.totals)} 位"
    if chart.incomplete:
        note += f"，未完成 {chart.incomplete} 位（不计入）"
    if chart.totals:
        note += f"；平均 {fmt(_mean(chart.totals).quantize(Decimal('0.1')))} 分"
    axes.set_title(f"本学院导师总分分布（{note}）", fontsize=12)
    axes.set_xlabel("总分（分）")
    axes.set_ylabel("人数")
    axes.spines[["top", "right"]].set_visible(False)


def _rate(value: Decimal | None, maximum: Decimal) -> float:
    return float(value / maximum * 100) if value is not None and maximum else 0.0


def _items(axes: Any, chart: CollegeChart) -> None:
    positions = list(range(len(chart.items)))
    width = 0.38
    college = [_rate(i.college, i.maximum) for i in chart.items]
    school = [_rate(i.school, i.maximum) for i in chart.items]
    axes.bar(
        [p - width / 2 for p in positions], college, width, label="本学院", color=COLLEGE_COLOUR
    )
    axes.bar([p + width / 2 for p in positions], school, width, label="全校", color=SCHOOL_COLOUR)
    axes.set_xticks(positions, [f"{i.item}\n满分{fmt(i.maximum)}" for i in chart.items], fontsize=8)
    for position, (before, after) in enumerate(itertools.pairwise(chart.items), start=1):
        if before.item[:1] != after.item[:1]:  # B | M | A
            axes.axvline(position - 0.5, color="#cccccc", linewidth=1)
    if all(i.college is None and i.school is None for i in chart.items):
        axes.text(0.5, 0.5, "暂无评分", transform=axes.transAxes, ha="center", color="#888")
    axes.set_ylim(0, 122)
    axes.set_yticks(range(0, 101, 20))
    axes.set_ylabel("平均得分率（%）")
    axes.set_title("各项平均得分率：本学院与全校（平均分 ÷ 满分）", fontsize=12)
    axes.legend(loc="upper right", ncols=2, frameon=False)
    axes.grid(axis="y", color="#e5e5e5")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
