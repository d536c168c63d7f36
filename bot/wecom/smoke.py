"""The go-live smoke test (``flask --app bot wecom check``): is the app set up in WeCom as
``docs/wecom-setup.md`` says?

Each check talks to the real API (or the simulator) and ends in a :class:`Check` with a
Chinese reason: the access token (企业ID, Secret, 企业可信IP), the app (agent/get: not
stopped, visible range, 可信域名, 上报进入应用事件), the callback URL (a signed URL
verification sent to this installation's own public address, as WeCom sends it), the menu
(menu/get against the menu the program defines) and one text message to the operator.

The message is sent directly, not through the outbox: it is a diagnostic whose answer
(accepted, ``invaliduser``, an errcode) is the point of the check.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from bot.wecom import directory
from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto
from bot.wecom.errors import WeComError
from bot.wecom.explain import explain

CALLBACK_PATH = "/wecom/callback"
CALLBACK_TIMEOUT = 5.0
AGENT_CHECKS = ("应用", "可见范围", "可信域名", "上报进入应用事件")  # check_agent's order


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}：{self.detail}"


@dataclass(frozen=True)
class Target:
    """This installation as WeCom must know it."""

    public_base_url: str
    crypto: WeComCrypto
    expected_menu: dict[str, Any]


def run_checks(
    client: WeComClient,
    target: Target,
    *,
    to: str,
    now: datetime,
    http_get: Callable[..., requests.Response] = requests.get,
) -> list[Check]:
    """Every check, in the checklist's order; a check that cannot run says why."""
    try:
        client.access_token()
    except WeComError as error:
        skipped = "未检查：没有取得 access_token"
        return [
            Check("access_token", False, explain(error)),
            *(Check(name, False, skipped) for name in AGENT_CHECKS),
            check_callback(target, now, http_get),
            Check("菜单", False, skipped),
            Check("发送消息", False, skipped),
        ]
    token = Check("access_token", True, f"已取得（企业ID {client.corp_id}）")
    try:
        agent = directory.get_agent(client)
    except WeComError as error:
        unread = "未检查：读不到应用信息"
        agent_checks = [
            Check(AGENT_CHECKS[0], False, explain(error)),
            *(Check(name, False, unread) for name in AGENT_CHECKS[1:]),
        ]
    else:
        agent_checks = check_agent(agent, client.agent_id, target.public_base_url)
    return [
        token,
        *agent_checks,
        check_callback(target, now, http_get),
        check_menu(client, target.expected_menu),
        check_message(client, to, now),
    ]


def check_agent(agent: directory.Agent, agent_id: int, public_base_url: str) -> list[Check]:
    """The app (not stopped, the right one), its visible range, 可信域名 and 上报进入应用事件."""
    if agent.closed:
        app = Check("应用", False, f"「{agent.name}」已被停用：在管理后台启用它")
    elif agent.agent_id != agent_id:
        app = Check("应用", False, f"答复的 AgentId {agent.agent_id} 不是 {agent_id}")
    else:
        app = Check("应用", True, f"「{agent.name}」（AgentId {agent.agent_id}）")
    if agent.range_is_empty:
        visible = Check("可见范围", False, "可见范围是空的：没有人能收到消息或打开应用")
    else:
        visible = Check(
            "可见范围",
            True,
            f"部门 {len(agent.partys)} 个（{'、'.join(map(str, agent.partys)) or '无'}），"
            f"单独添加的成员 {len(agent.users)} 人，标签 {len(agent.tags)} 个；"
            "名册中每个人是否都在其中：flask --app bot roster check-wecom",
        )
    enter = Check(
        "上报进入应用事件",
        agent.report_enter,
        "已开启" if agent.report_enter else "未开启：在「接收消息」设置里打开「上报进入应用事件」",
    )
    return [app, visible, check_domain(agent.redirect_domain, public_base_url), enter]


def check_domain(redirect_domain: str, public_base_url: str) -> Check:
    """可信域名 must be PUBLIC_BASE_URL's host (with its port if not the default)."""
    ours = (urlsplit(public_base_url).netloc or "").lower()
    theirs = urlsplit(redirect_domain if "//" in redirect_domain else f"//{redirect_domain}")
    domain = (theirs.netloc or "").lower()
    if not domain:
        return Check("可信域名", False, f"未设置：应用内网页无法登录；应设为 {ours}")
    if domain != ours:
        return Check("可信域名", False, f"设置的是 {domain}，而 PUBLIC_BASE_URL 的域名是 {ours}")
    return Check("可信域名", True, f"{domain}（与 PUBLIC_BASE_URL 一致）")


def check_callback(
    target: Target, now: datetime, http_get: Callable[..., requests.Response]
) -> Check:
    """A URL verification as WeCom sends it, to this installation's public callback URL."""
    url = target.public_base_url.rstrip("/") + CALLBACK_PATH
    echo = secrets.token_hex(8)
    query = target.crypto.build_url_verification(
        echo, timestamp=int(now.timestamp()), nonce=secrets.token_hex(8)
    )
    try:
        response = http_get(url, params=query, timeout=CALLBACK_TIMEOUT)
    except requests.RequestException as exc:
        return Check("回调 URL", False, f"{url} 连不上（{type(exc).__name__}）")
    if response.status_code == 403:
        reason = "拒绝了签名：Token 或 EncodingAESKey 与本机配置不同"
        return Check("回调 URL", False, f"{url} {reason}")
    if response.status_code != 200 or response.text != echo:
        reason = f"答复 HTTP {response.status_code}，不是解密后的 echostr"
        return Check("回调 URL", False, f"{url} {reason}")
    passed = "用本机的 Token 和 EncodingAESKey 通过了 URL 验证（管理后台「接收消息」须填这个地址）"
    return Check("回调 URL", True, f"{url} {passed}")


def check_menu(client: WeComClient, expected: dict[str, Any]) -> Check:
    try:
        menu = directory.get_menu(client)
    except WeComError as error:
        return Check("菜单", False, explain(error))
    if menu is None:
        return Check("菜单", False, "尚未创建：运行 flask --app bot menu create")
    if _buttons(menu) != _buttons(expected):
        return Check("菜单", False, "与程序中的菜单不一致：运行 flask --app bot menu create")
    return Check("菜单", True, f"{len(expected.get('button', []))} 个一级按钮，与程序中的菜单一致")


def check_message(client: WeComClient, to: str, now: datetime) -> Check:
    text = f"【企业微信接入自检】这是一条测试消息（{now:%Y-%m-%d %H:%M}），收到即说明应用能发消息。"
    try:
        result = client.send_text(to, text)
    except WeComError as error:
        return Check("发送消息", False, f"发给 {to} 失败：{explain(error)}")
    if result.invalid_users:
        return Check(
            "发送消息", False, f"企业微信没有送达 {to}：账号不存在，或不在应用的可见范围内"
        )
    return Check("发送消息", True, f"已发给 {to}，请在企业微信里确认收到")


def _buttons(menu: dict[str, Any]) -> list[Any]:
    """The menu as it behaves (names, types, keys, links), whatever else WeCom echoes back."""

    def button(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        fields = {k: item.get(k) for k in ("name", "type", "key", "url") if item.get(k)}
        if item.get("sub_button"):
            fields["sub_button"] = [button(sub) for sub in item["sub_button"]]
        return fields

    return [button(item) for item in menu.get("button") or []]
