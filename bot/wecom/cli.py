"""``flask --app bot wecom check``: the go-live smoke test against the real API."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

wecom_cli = AppGroup("wecom", help="企业微信接入.")


@wecom_cli.command("check")
@click.option("--to", "to", required=True, help="接收测试消息的 UserID（操作人自己）")
def wecom_check(to: str) -> None:
    """Check token, app, visible range, 可信域名, callback URL and menu; send one message."""
    from bot.roster.cell_formats import USERID
    from bot.wecom.app_client import get_client
    from bot.wecom.smoke import Target, run_checks
    from handlers.menu import menu_definition

    to = to.strip()
    if not USERID.fullmatch(to):
        rule = "企业微信账号（UserID）：字母、数字和 _-@.，以字母或数字开头，最长 64 位"
        raise click.BadParameter(rule, param_hint="--to")
    settings = current_app.extensions["settings"]
    target = Target(
        public_base_url=settings.PUBLIC_BASE_URL,
        crypto=current_app.extensions["wecom_crypto"],
        expected_menu=menu_definition(),
    )
    checks = run_checks(get_client(), target, to=to, now=datetime.now(UTC))
    click.echo(f"企业微信接入自检（{settings.WECOM_API_BASE}，AgentId {settings.WECOM_AGENT_ID}）")
    for check in checks:
        click.echo(check.line())
    failed = [check for check in checks if not check.ok]
    if failed:
        click.echo(f"{len(failed)} 项未通过，见 docs/wecom-setup.md。")
        raise SystemExit(1)
    click.echo(f"全部 {len(checks)} 项通过。")
