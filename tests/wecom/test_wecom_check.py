"""`flask --app bot wecom check`: the go-live smoke test, run against the simulator's fake
WeCom served for real (token, agent/get, the callback URL, menu/get, message/send)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from click.testing import Result

from bot.wecom.crypto import WeComCrypto
from bot.wecom.smoke import Target, check_callback
from tests.live import LiveApp, serve


@pytest.fixture
def live(settings_overrides: dict[str, Any]) -> Iterator[LiveApp]:
    with serve(settings_overrides) as running:
        running.simulator.state.add_user("sysadmin", "系统管理员")
        yield running


def check(live: LiveApp, *args: str) -> Result:
    return live.app.test_cli_runner().invoke(args=["wecom", "check", *args])


def lines(result: Result) -> dict[str, str]:
    """Each check's line by its name: {"菜单": "✓ 菜单：…", …}."""
    found = {}
    for line in result.stdout.splitlines():
        if line[:2] in ("✓ ", "✗ "):
            found[line[2:].split("：", 1)[0]] = line
    return found


def publish_menu(live: LiveApp) -> None:
    assert live.app.test_cli_runner().invoke(args=["menu", "create"]).exit_code == 0


def test_everything_set_up_passes_and_the_operator_gets_the_message(live: LiveApp) -> None:
    publish_menu(live)
    result = check(live, "--to", "sysadmin")
    assert result.exit_code == 0, result.stdout
    found = lines(result)
    assert list(found) == [
        "access_token",
        "应用",
        "可见范围",
        "可信域名",
        "上报进入应用事件",
        "回调 URL",
        "菜单",
        "发送消息",
    ]
    assert all(line.startswith("✓") for line in found.values())
    assert "「全生异科导师」（AgentId 1000002）" in found["应用"]
    assert live.base_url.removeprefix("http://") in found["可信域名"]
    assert f"{live.base_url}/wecom/callback" in found["回调 URL"]
    assert "全部 8 项通过" in result.stdout
    (message,) = live.simulator.state.sent_to("sysadmin")
    assert message.msgtype == "text"
    assert message.content["content"].startswith("【企业微信接入自检】")


def test_each_setting_left_undone_fails_with_its_reason(live: LiveApp) -> None:
    directory = live.simulator.state.directory
    directory.isreportenter = 0
    directory.redirect_domain = "old.example.edu.cn"
    directory.set_visible_range()  # nobody
    result = check(live, "--to", "sysadmin")  # and no menu published
    assert result.exit_code == 1
    found = lines(result)
    assert found["上报进入应用事件"] == (
        "✗ 上报进入应用事件：未开启：在「接收消息」设置里打开「上报进入应用事件」"
    )
    assert "设置的是 old.example.edu.cn" in found["可信域名"]
    assert found["可见范围"] == "✗ 可见范围：可见范围是空的：没有人能收到消息或打开应用"
    assert found["菜单"] == "✗ 菜单：尚未创建：运行 flask --app bot menu create"
    assert found["发送消息"].startswith("✗ 发送消息：发给 sysadmin 失败：接收人无效")
    assert "（errcode 81013）" in found["发送消息"]
    assert found["access_token"].startswith("✓")
    assert live.simulator.state.sent_to("sysadmin") == []
    assert "5 项未通过" in result.stdout


def test_a_menu_other_than_the_programs_fails(live: LiveApp) -> None:
    publish_menu(live)
    live.simulator.state.menu = {"button": [{"type": "click", "name": "帮助", "key": "old"}]}
    found = lines(check(live, "--to", "sysadmin"))
    assert found["菜单"] == "✗ 菜单：与程序中的菜单不一致：运行 flask --app bot menu create"


def test_someone_outside_the_visible_range_is_not_reached(live: LiveApp) -> None:
    publish_menu(live)
    state = live.simulator.state
    state.directory.add_department(2, "计算机学院")
    state.add_user("zhangsan", "张三", department=[2])
    state.directory.set_visible_range(partys=[2])
    result = check(live, "--to", "sysadmin")
    assert result.exit_code == 1
    assert lines(result)["发送消息"].startswith("✗ 发送消息：发给 sysadmin 失败：")
    assert lines(check(live, "--to", "zhangsan"))["发送消息"].startswith("✓")


def test_an_untrusted_server_address_names_the_trusted_ip_setting(live: LiveApp) -> None:
    publish_menu(live)
    live.simulator.state.inject_fault("agent/get", errcode=60020, errmsg="not allow to access")
    result = check(live, "--to", "sysadmin")
    assert result.exit_code == 1
    found = lines(result)
    assert "企业可信IP" in found["应用"] and "60020" in found["应用"]
    assert found["可见范围"] == "✗ 可见范围：未检查：读不到应用信息"
    assert found["回调 URL"].startswith("✓")


def test_a_wrong_secret_stops_at_the_token(live: LiveApp) -> None:
    live.simulator.state.secret = "another-secret"
    result = check(live, "--to", "sysadmin")
    assert result.exit_code == 1
    found = lines(result)
    assert "Secret 不正确" in found["access_token"] and "40001" in found["access_token"]
    assert found["菜单"] == "✗ 菜单：未检查：没有取得 access_token"
    assert found["回调 URL"].startswith("✓")


def test_a_callback_url_with_another_token_is_refused(live: LiveApp) -> None:
    settings = live.app.extensions["settings"]
    other = WeComCrypto("another-token", settings.WECOM_AES_KEY, settings.WECOM_CORP_ID)
    target = Target(live.base_url, other, expected_menu={})
    result = check_callback(target, datetime.now(UTC), requests.get)
    assert not result.ok
    assert result.detail.endswith("拒绝了签名：Token 或 EncodingAESKey 与本机配置不同")


def test_the_recipient_must_be_one_userid(live: LiveApp) -> None:
    for bad in ("a|b", "", "张三", "x" * 65):
        result = check(live, "--to", bad)
        assert result.exit_code == 2
        assert "企业微信账号（UserID）" in result.output
    assert live.simulator.state.calls() == []
