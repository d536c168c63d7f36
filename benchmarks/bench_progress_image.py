"""Progress image benchmark: draw the 我的 picture N times (Pillow, in process).

The picture is drawn inside the WeCom callback (which must answer within 5 s), so it is
timed alone: p50 / p99 of ``render_png`` over varied figures, after the fonts are loaded;
the one-off cost of finding and opening the CJK font (first 我的 of a process) is printed
beside it, and the time to save the PNG in a local file store.

    .venv/bin/python benchmarks/bench_progress_image.py [--count 1000]

Target: p99 render under 100 ms. Needs a CJK font (Debian's fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.storage import LocalFileStore  # noqa: E402
from bot.records import progress_image  # noqa: E402
from bot.records.progress import Progress, RatingSummary, Target  # noqa: E402

TARGET_MS = 100.0
LABELS = (
    ("本周个别交流", 2),
    ("本学期集体活动", 2),
    ("本学期与辅导员沟通", 1),
    ("本学期与学院负责人交流", 1),
    ("本月计划", 1),
    ("本月宣传素材", 2),
)


def sample(number: int) -> Progress:
    """Varied figures: met and short rows, with and without ratings and semester dates."""
    targets = [
        Target(label, (number + offset) % (goal + 2), goal)
        for offset, (label, goal) in enumerate(LABELS)
    ]
    ratings = (
        RatingSummary(number % 9 + 1, Decimal(500 + number % 500) / 10)
        if number % 3
        else RatingSummary(0, None)
    )
    return Progress(targets, number % 5 != 0, ratings)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, round(len(ordered) * share) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    faces = progress_image.load_fonts()
    first = (time.perf_counter() - started) * 1000
    if faces is None:
        raise SystemExit("no CJK font installed (apt-get install fonts-noto-cjk)")
    print(f"font: {faces.regular.family} ({faces.regular.path}, face {faces.regular.index})")
    print(f"finding and opening the fonts (once per process): {first:.0f} ms")

    today = date(2025, 10, 15)
    results = [sample(number) for number in range(args.count)]
    progress_image.render_png(results[0], today=today, faces=faces)  # warm: icons, glyphs
    timings, sizes, pngs = [], [], []
    for result in results:
        started = time.perf_counter()
        png = progress_image.render_png(result, today=today, faces=faces)
        timings.append((time.perf_counter() - started) * 1000)
        sizes.append(len(png))
        pngs.append(png)
    timings.sort()
    p50, p99 = statistics.median(timings), percentile(timings, 0.99)
    print(
        f"render × {args.count}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms; "
        f"PNG {statistics.mean(sizes) / 1000:.0f} KB on average"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = LocalFileStore(tmp)
        now = datetime(2025, 10, 15, 2, 0, tzinfo=UTC)
        saves = []
        for png in pngs[:200]:
            started = time.perf_counter()
            store.put(png, ".png", now)
            saves.append((time.perf_counter() - started) * 1000)
        saves.sort()
        print(
            f"local file store put × {len(saves)}: p50 {statistics.median(saves):.1f} ms, "
            f"p99 {percentile(saves, 0.99):.1f} ms"
        )

    verdict = "meets" if p99 < TARGET_MS else "MISSES"
    print(f"render p99 {p99:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")
    if p99 >= TARGET_MS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
