"""Operator commands under ``flask --app bot …``."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from bot.core import migrate
from bot.core.db import get_database
from bot.cycle.cli import cycle_cli
from bot.devtools.demo_data import demo_cli
from bot.outbox.commands import DEAD_LETTER_COMMANDS
from bot.ratings.cli import ratings_cli
from bot.records.cli import evidence_cli
from bot.roster.cli import roster_cli
from bot.wecom.cli import wecom_cli

db_cli = AppGroup("db", help="数据库迁移 (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    migrate.upgrade(get_database().engine, revision)
    click.echo(f"数据库已迁移到 {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (``base`` empties it)."""
    migrate.downgrade(get_database().engine, revision)
    click.echo(f"数据库已回退到 {revision}")


@db_cli.command("current")
def db_current() -> None:
    """Say whether the database is at the newest migration."""
    current = migrate.is_current(get_database().engine)
    click.echo("数据库结构是最新的" if current else "数据库需要迁移：flask --app bot db upgrade")
    if not current:
        raise SystemExit(1)


outbox_cli = AppGroup("outbox", help="消息发件箱.")


@outbox_cli.command("send")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
def outbox_send(once: bool) -> None:
    """Run the outbox sender (one or more may run; each row is sent once)."""
    from flask import current_app

    from bot.core.storage import FileStore
    from bot.outbox import runner, sender
    from bot.wecom.app_client import get_client

    database, store = get_database(), current_app.extensions["redis"]
    files = FileStore.from_settings(current_app.extensions["settings"], current_app.instance_path)
    if once:
        report = sender.drain_once(database, get_client(), store, datetime.now(UTC), files=files)
        click.echo(
            f"已发送 {report.sent} 条，延后 {report.deferred} 条，失败 {report.failed} 条，"
            f"转入死信 {report.dead} 条"
            + (f"，卡片已不能更新（已过期或已更新）{report.lapsed} 条" if report.lapsed else "")
        )
        return
    runner.run_forever(database, get_client(), store, files=files)


menu_cli = AppGroup("menu", help="应用菜单.")


@menu_cli.command("create")
def menu_create() -> None:
    """Publish the app menu to WeCom (menu/create)."""
    from bot.wecom.app_client import get_client
    from handlers.menu import menu_definition

    get_client().create_menu(menu_definition())
    click.echo("应用菜单已更新")


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(file_okay=False))
def backup_command(target: str) -> None:
    """Write a consistent copy of the database and the stored files to TARGET."""
    from pathlib import Path

    from flask import current_app

    from bot.core.storage import FileStore
    from bot.ops.backup import BackupError, backup

    settings = current_app.extensions["settings"]
    try:
        manifest = backup(
            get_database(),
            FileStore.from_settings(settings, current_app.instance_path),
            Path(target),
            datetime.now(UTC),
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已备份数据库和 {len(manifest.files)} 个文件到 {target}")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(file_okay=False, exists=True))
def restore_command(source: str) -> None:
    """Restore a backup from SOURCE into this empty installation."""
    from pathlib import Path

    from flask import current_app

    from bot.core.storage import FileStore
    from bot.ops.backup import BackupError, restore

    settings = current_app.extensions["settings"]
    try:
        manifest = restore(
            get_database(),
            FileStore.from_settings(settings, current_app.instance_path),
            Path(source),
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已恢复数据库和 {len(manifest.files)} 个文件（备份时间 {manifest.created_at}）")


retention_cli = AppGroup("retention", help="个人数据保留期限.")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def retention_purge(dry_run: bool) -> None:
    """Delete care notes, individual ratings and evidence past the retention period, and
    finished outbox messages and processed callbacks past theirs."""
    from flask import current_app

    from bot.core.storage import FileStore, StorageError
    from bot.ops.retention.prune import prune_messages
    from bot.ops.retention.purge import purge

    settings = current_app.extensions["settings"]
    store = FileStore.from_settings(settings, current_app.instance_path)
    now = datetime.now(UTC)
    try:
        with get_database().session() as session:
            report = purge(
                session, store, now, keep_years=settings.RETENTION_YEARS, dry_run=dry_run
            )
    except StorageError as exc:  # listing or deleting stored files: the database is unchanged
        raise click.ClickException(f"{exc}。数据库没有改动，请在文件存储恢复后重新运行。") from None
    pruned = prune_messages(
        get_database(), now, outbox_keep_days=settings.OUTBOX_KEEP_DAYS, dry_run=dry_run
    )
    for line in report.lines() + pruned.lines():
        click.echo(("（演练，未删除）" if dry_run else "") + line)


person_cli = AppGroup("person", help="个人数据.")


@person_cli.command("export")
@click.argument("userid")
@click.argument("target", type=click.Path(dir_okay=False))
def person_export(userid: str, target: str) -> None:
    """Export everything stored about USERID to the workbook TARGET."""
    from pathlib import Path

    from bot.ops.retention.export import export_person

    with get_database().session() as session:
        try:
            rows = export_person(session, userid, Path(target), now=datetime.now(UTC))
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"已导出 {userid} 的个人数据：{rows} 行，保存在 {target}")


def init_app(app: Flask) -> None:
    app.cli.add_command(retention_cli)
    app.cli.add_command(person_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(menu_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(outbox_cli)
    for command in DEAD_LETTER_COMMANDS:  # outbox dead, outbox retry-dead
        outbox_cli.add_command(command)
    app.cli.add_command(evidence_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(ratings_cli)
    app.cli.add_command(cycle_cli)
    app.cli.add_command(wecom_cli)
