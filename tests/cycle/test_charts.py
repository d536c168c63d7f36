"""The college head's chart: Chinese really renders (no missing-glyph boxes), the PNG is valid,
the numbers are right; without a CJK font the digest goes out without the chart."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import structlog
from PIL import Image

from bot.core.models import OutboxMessage, Person, ScoreSource
from bot.core.storage import FileStore
from bot.cycle import charts, cycles, opening, publication
from bot.cycle.charts import ChartFontMissing, CollegeChart, ItemAverage, render_png, score_bins
from bot.cycle.results import Member, Results
from scoring import load_rubric
from tests.fonts import cjk_font_installed

RUBRIC = load_rubric()
TITLE = "计算机与物联网学院 2025-2026 学年导师考核（公示）"


def _chart(totals=("72.5", "81", "88", "90.5", "95", "101", "66"), incomplete=1) -> CollegeChart:
    items = tuple(
        ItemAverage(i.id, i.max, i.max * Decimal("0.8"), i.max * Decimal("0.7"))
        for i in RUBRIC.scored_items
    )
    return CollegeChart(TITLE, tuple(Decimal(t) for t in totals), incomplete, RUBRIC.maximum, items)


def _render_recording_warnings(chart: CollegeChart) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_png(chart)
    return png, [str(w.message) for w in caught]


def test_chinese_text_renders_with_a_cjk_font_and_the_png_is_valid(cjk_font):
    assert cjk_font in charts.CJK_FAMILIES
    png, messages = _render_recording_warnings(_chart())
    assert not [m for m in messages if "missing from font" in m], messages
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (880, 990))
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16) or []
    assert any(rgb == (7, 193, 96) for _, rgb in colours)  # the college's bars are drawn


def test_the_missing_glyph_check_does_catch_boxes():
    """The inverse of the test above: Chinese in a Latin-only font warns, so silence means
    every Chinese glyph was found."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with (
        warnings.catch_warnings(record=True) as caught,
        matplotlib.rc_context({"font.family": "DejaVu Sans"}),
    ):
        warnings.simplefilter("always")
        figure = Figure()
        FigureCanvasAgg(figure)
        figure.suptitle("学院")
        figure.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_an_empty_college_still_draws(cjk_font):
    png, messages = _render_recording_warnings(_chart(totals=(), incomplete=7))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert not [m for m in messages if "missing from font" in m]


def test_a_font_installed_after_matplotlib_cached_its_font_list_is_found(cjk_font, monkeypatch):
    from matplotlib import font_manager

    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if "CJK" not in f.name])
    charts.cjk_family.cache_clear()
    try:
        assert charts.cjk_family() == cjk_font
    finally:
        charts.cjk_family.cache_clear()


def test_without_a_cjk_font_drawing_stops_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(charts, "cjk_family", lambda: None)
    with pytest.raises(ChartFontMissing) as error:
        render_png(_chart())
    assert "fonts-noto-cjk" in str(error.value) and "找不到中文字体" in str(error.value)
    assert "No CJK font" in str(error.value)


def test_score_bins_are_ten_points_wide_and_the_last_is_closed():
    totals = [Decimal(t) for t in ("59.9", "60", "69.9", "70", "99.9", "100", "105")]
    assert score_bins(totals, Decimal(105)) == [
        ("50–59", 1),
        ("60–69", 2),
        ("70–79", 1),
        ("80–89", 0),
        ("90–99", 1),
        ("100–105", 2),
    ]
    assert [label for label, _ in score_bins([], Decimal(105))] == [
        "60–69",
        "70–79",
        "80–89",
        "90–99",
        "100–105",
    ]
    assert score_bins([Decimal(100)], Decimal(100))[-1] == ("90–100", 1)


@dataclass
class _Score:
    tenths: int


class _Assessment:
    def __init__(self, totals: dict[int, Decimal | None]) -> None:
        self.totals = totals

    def mentor(self, mentor_id: str) -> SimpleNamespace:
        return SimpleNamespace(total=self.totals[int(mentor_id)])


def test_item_averages_of_the_college_against_the_whole_school():
    cs, de = SimpleNamespace(id=1), SimpleNamespace(id=2)
    people = [SimpleNamespace(id=pid) for pid in (10, 11, 20)]
    results = Results(
        _Assessment({10: Decimal(90), 11: None, 20: Decimal(70)}),  # type: ignore[arg-type]
        [Member(people[0], cs), Member(people[1], cs), Member(people[2], de)],  # type: ignore[arg-type]
    )
    scores = {
        (10, "B1", ScoreSource.COLLEGE): _Score(20),
        (11, "B1", ScoreSource.COLLEGE): _Score(10),
        (20, "B1", ScoreSource.COLLEGE): _Score(0),
        (20, "A1", ScoreSource.ACADEMY): _Score(50),
    }
    chart = charts.college_chart(results, scores, RUBRIC, college_id=1, title=TITLE)  # type: ignore[arg-type]
    assert (chart.totals, chart.incomplete) == ((Decimal(90),), 1)
    by_item = {item.item: item for item in chart.items}
    assert [i.item for i in chart.items] == [i.id for i in RUBRIC.scored_items]
    assert (by_item["B1"].college, by_item["B1"].school) == (Decimal("1.5"), Decimal(1))
    assert (by_item["A1"].college, by_item["A1"].school) == (None, Decimal(5))
    assert by_item["A1"].maximum == Decimal(10)


def test_publication_without_a_cjk_font_sends_the_digest_without_the_chart(
    app, database, demo, monkeypatch
):
    monkeypatch.setattr(charts, "cjk_family", lambda: None)
    files = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    env = cycles.Env("http://bot.example", ZoneInfo("Asia/Shanghai"), files)
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    with structlog.testing.capture_logs() as logs, database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(session, year_code="2025-2026", actor=office, now=now, env=env)
        publication.publish(session, cycle, actor=office, now=now, env=env, force=True)
    with database.session() as session:
        kinds = {
            (row.userid, row.msgtype)
            for row in session.scalars(sa.select(OutboxMessage))
            if row.userid in ("cs_dean", "shuyuan_admin")
        }
    assert ("cs_dean", "markdown") in kinds and ("cs_dean", "image") not in kinds
    assert ("shuyuan_admin", "file") in kinds  # the workbook does not need the font
    skipped = [e for e in logs if e["event"] == "cycle_chart_skipped"]
    assert skipped and all(e["reason"] == "no_cjk_font" for e in skipped)


def test_publication_survives_a_failing_file_store(app, database, demo, monkeypatch):
    files = FileStore.from_settings(app.extensions["settings"], app.instance_path)

    def refuse(*args, **kwargs):
        raise OSError("the store is down")

    monkeypatch.setattr(files, "put", refuse)
    env = cycles.Env("http://bot.example", ZoneInfo("Asia/Shanghai"), files)
    now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
    with structlog.testing.capture_logs() as logs, database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(session, year_code="2025-2026", actor=office, now=now, env=env)
        answer = publication.publish(session, cycle, actor=office, now=now, env=env, force=True)
    assert answer.startswith("已公示")
    with database.session() as session:
        kinds = {row.msgtype for row in session.scalars(sa.select(OutboxMessage))}
    assert "markdown" in kinds and not kinds & {"image", "file"}
    events = {e["event"] for e in logs}
    assert "cycle_workbook_failed" in events
    if cjk_font_installed():
        assert "cycle_chart_failed" in events
    else:
        assert "cycle_chart_skipped" in events
