"""``flask --app bot cycle …``: the office's steps from the server's command line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot.core.db import get_database
from bot.core.storage import FileStore
from bot.cycle import closing, cycles, export, opening, progress, publication, windows
from bot.cycle.cycles import CycleError, Env
from bot.ratings.jobs import current_policy

cycle_cli = AppGroup("cycle", help="年度考核.")


def _env() -> Env:
    settings = current_app.extensions["settings"]
    files = FileStore.from_settings(settings, current_app.instance_path)
    return Env(settings.PUBLIC_BASE_URL, settings.zone, files)


def _deadlines(text: str) -> dict[str, str]:
    """``self=2026-09-05,college=2026-09-10,academy=2026-09-12`` → by step."""
    result = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        step, _, day = part.partition("=")
        if step not in cycles.STEPS or not day:
            raise click.BadParameter(f"“{part}”：写作 self=日期、college=日期、academy=日期")
        result[step] = day.strip()
    return result


@cycle_cli.command("open")
@click.argument("year")
@click.option("--deadlines", default="", help="self=2026-09-05,college=2026-09-10,academy=…")
def open_command(year: str, deadlines: str) -> None:
    """Open the assessment of YEAR (e.g. 2025-2026) and tell everyone concerned."""
    with get_database().session() as session:
        try:
            cycle = opening.open_cycle(
                session, year_code=year, actor=None, now=datetime.now(UTC), env=_env(),
                deadlines=_deadlines(deadlines), policy=current_policy(),
            )  # fmt: skip
        except (CycleError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"已开启 {year} 学年考核，截止日期：{cycle.deadlines}")


@cycle_cli.command("progress")
@click.argument("year", required=False)
def progress_command(year: str | None) -> None:
    """Who has and has not done their step."""
    with get_database().session() as session:
        try:
            cycle = cycles.require_cycle(session, year)
        except CycleError as exc:
            raise click.ClickException(str(exc)) from None
        today = datetime.now(UTC).astimezone(_env().zone).date()
        click.echo(progress.progress_text(session, cycle, None, today))


@cycle_cli.command("publish")
@click.argument("year", required=False)
@click.option("--force", is_flag=True, help="Publish although some steps are missing.")
def publish_command(year: str | None, force: bool) -> None:
    """公示: compute the results and send them."""
    with get_database().session() as session:
        try:
            cycle = cycles.require_cycle(session, year)
            now = datetime.now(UTC)
            still_open = windows.open_windows(session, cycle, now=now, policy=current_policy())
            answer = publication.publish(
                session, cycle, actor=None, now=now, env=_env(), force=force,
                open_windows=still_open if cycle.status.value == "open" else (),
            )  # fmt: skip
        except CycleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(answer)


@cycle_cli.command("close")
@click.argument("year", required=False)
@click.option("--force", is_flag=True, help="Close with mentors incomplete or objections open.")
@click.option("--reason", default="", help="Why (needed to close within the objection period).")
def close_command(year: str | None, force: bool, reason: str) -> None:
    """Close the cycle: results become final and read-only."""
    with get_database().session() as session:
        try:
            cycle = cycles.require_cycle(session, year)
            answer = closing.close(
                session, cycle, actor=None, now=datetime.now(UTC), env=_env(), force=force,
                reason=reason,
            )  # fmt: skip
        except CycleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(answer)


@cycle_cli.command("store-results")
@click.argument("year")
def store_results_command(year: str) -> None:
    """Store the results of a cycle published before results were stored (once)."""
    with get_database().session() as session:
        try:
            cycle = cycles.require_cycle(session, year)
        except CycleError as exc:
            raise click.ClickException(str(exc)) from None
        stored = publication.backfill_results(session, cycle, now=datetime.now(UTC))
        if stored is None:
            click.echo(f"{year} 学年的考核结果无需补存（尚未公示，或已经保存）。")
        else:
            click.echo(f"已保存 {year} 学年 {len(stored.mentors)} 位导师的考核结果。")


@cycle_cli.command("export")
@click.argument("kind", type=click.Choice(["results", "outstanding", "history"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", default=None, help="The cycle's year (default: the newest).")
def export_command(kind: str, path: Path, year: str | None) -> None:
    """Write the full results, the outstanding mentors or the multi-year record to PATH."""
    with get_database().session() as session:
        try:
            cycle = cycles.require_cycle(session, year)
        except CycleError as exc:
            raise click.ClickException(str(exc)) from None
        if kind == "history":
            content = export.history_workbook(session)
        elif kind == "outstanding":
            content = export.outstanding_workbook(session, cycle)
        else:
            content = export.results_workbook(session, cycle)
        path.write_bytes(content)
        click.echo(f"已导出到 {path}")
