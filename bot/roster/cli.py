"""``flask --app bot roster …``: import, generate, template, example, check-wecom."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from bot.core.db import get_database
from bot.roster.import_summary import RosterInvalid
from bot.roster.importer import import_roster
from bot.roster.workbook import WorkbookReader, write_workbook

roster_cli = AppGroup("roster", help="名册：导入、生成、模板、与企业微信通讯录核对。")


def _progress_bar(total: int) -> Any:
    """A progress bar on stderr when it is a terminal (quiet in tests and pipes)."""
    if total < 2000 or not sys.stderr.isatty():
        return nullcontext(None)
    return click.progressbar(length=total, label="读取名册", file=sys.stderr)


@roster_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--year", default=None, help="分配所属学年，如 2025-2026（默认：校历中的学年或当前学年）"
)
def roster_import(path: Path, year: str | None) -> None:
    """Import a roster workbook (all or nothing; errors are listed)."""
    from bot import get_settings

    today = datetime.now(get_settings().zone).date()
    reader = WorkbookReader(path)
    try:
        with _progress_bar(reader.total_rows) as bar:
            raw = reader.read(bar.update if bar is not None else None)
    finally:
        reader.close()
    try:
        with get_database().session() as session:
            summary = import_roster(session, raw, year=year, today=today)
    except RosterInvalid as invalid:
        click.echo(f"名册有 {len(invalid.issues)} 处错误，未导入任何数据：", err=True)
        for issue in invalid.issues:
            click.echo(str(issue), err=True)
        raise SystemExit(1) from None
    click.echo(str(summary))


@roster_cli.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--students", default=40_000, show_default=True, type=click.IntRange(1))
@click.option("--mentors", default=2_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--year", default="2025-2026", show_default=True)
def roster_generate(out: Path, students: int, mentors: int, seed: int, year: str) -> None:
    """Write a large, realistic roster workbook (deterministic for a given --seed)."""
    from bot.roster.generate import generate_roster

    records = generate_roster(students=students, mentors=mentors, seed=seed, year=year)
    write_workbook(out, records)
    sizes = "，".join(f"{key} {len(rows)} 行" for key, rows in records.items())
    click.echo(f"已生成 {out}：{sizes}")


@roster_cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def roster_template(out: Path) -> None:
    """Write an empty roster workbook with every sheet and header."""
    write_workbook(out, {})
    click.echo(f"已生成空白名册模板 {out}")


@roster_cli.command("example")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mentors", default=4, show_default=True, type=click.IntRange(1, 20))
@click.option("--students-per-mentor", default=3, show_default=True, type=click.IntRange(1, 15))
def roster_example(out: Path, mentors: int, students_per_mentor: int) -> None:
    """Write the example workbook: the demo university in miniature."""
    from bot.devtools.demo_roster import demo_roster_records

    records = demo_roster_records(mentors=mentors, students_per_mentor=students_per_mentor)
    write_workbook(out, records)
    click.echo(f"已生成示例名册 {out}")


@roster_cli.command("check-wecom")
@click.option("--max-lookups", default=500, show_default=True, type=click.IntRange(0, 10_000))
@click.option("--show", default=50, show_default=True, type=click.IntRange(1))
def roster_check_wecom(max_lookups: int, show: int) -> None:
    """List roster people WeCom does not know, outside the visible range, or named otherwise."""
    from bot.roster.check_wecom import run_check

    lines, failed = run_check(get_database(), max_lookups=max_lookups, show=show)
    click.echo("\n".join(lines))
    if failed:
        raise SystemExit(1)
