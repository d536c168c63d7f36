"""``flask --app bot ratings …``: the rating jobs by hand, and the office's audit export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot.core.db import get_database
from bot.ratings import jobs
from bot.ratings.export import audit_export, find_year, ratings_workbook

ratings_cli = AppGroup("ratings", help="学生评价.")


@ratings_cli.command("send-due")
def send_due() -> None:
    """Queue rating cards for ended activities (and last month's guidance)."""
    added = jobs.send_rating_cards(get_database(), datetime.now(UTC))
    click.echo(f"已加入发送队列：评价卡片 {added} 张")


@ratings_cli.command("remind")
def remind() -> None:
    """Lapse expired requests, flag denied records, remind students who have not answered."""
    added = jobs.send_rating_reminders(get_database(), datetime.now(UTC))
    click.echo(f"已加入发送队列：评价提醒 {added} 条")


@ratings_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", "year_code", default=None, help="Only this academic year, e.g. 2025-2026.")
def export(path: Path, year_code: str | None) -> None:
    """Write every rating with its student (for the academy office's audit) to PATH (.xlsx)."""
    settings = current_app.extensions["settings"]
    with get_database().session() as session:
        if year_code is not None and find_year(session, year_code) is None:
            raise click.BadParameter(f"没有学年 {year_code}（例如 2025-2026）", param_hint="--year")
        content, count = ratings_workbook(session, settings.zone, year_code)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        audit_export(
            session, actor=None, year_code=year_code, count=count, now=datetime.now(UTC),
            file=path.name,
        )  # fmt: skip
    click.echo(f"已导出 {count} 条评价到 {path}")
