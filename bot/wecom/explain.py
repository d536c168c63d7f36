"""What a failed WeCom call means, in Chinese, for the operator (global error codes, doc 90313)."""

from __future__ import annotations

from bot.wecom.errors import WeComAPIError, WeComError

ERROR_REASONS: dict[int, str] = {
    -1: "企业微信系统繁忙，请稍后再试",
    40001: "Secret 不正确：WECOM_SECRET 须是这个自建应用的 Secret",
    40013: "企业ID不正确：检查 WECOM_CORP_ID（我的企业 → 企业信息 → 企业ID）",
    40014: "access_token 无效",
    40056: "AgentId 不正确：检查 WECOM_AGENT_ID，且 Secret 须属于同一个应用",
    40091: "Secret 格式不正确：检查 WECOM_SECRET",
    42001: "access_token 已过期",
    43012: "应用未设置接收消息（回调URL）：未设置时企业微信不发送需要点选的卡片",
    45009: "调用太频繁，被企业微信限流，请稍后再试",
    48002: "这个接口没有调用权限",
    60011: "无权限：对象不在应用的可见范围内",
    60020: (
        "本机的出口 IP 不在应用的「企业可信IP」中：在应用详情 → 开发者接口 → 企业可信IP "
        "加上发送消息的服务器的公网出口 IP"
    ),
    60111: "企业微信中没有这个账号（UserID）",
    60140: "卡片的 response_code 无效，可能已过期（72 小时）",
    81013: "接收人无效，或不在应用的可见范围内",
    301002: "Secret 与 AgentId 不属于同一个应用",
}


def explain(error: WeComError) -> str:
    """A Chinese reason for a failed call."""
    if isinstance(error, WeComAPIError):
        reason = ERROR_REASONS.get(error.errcode, f"企业微信答复：{error.errmsg[:120]}")
        return f"{reason}（errcode {error.errcode}）"
    return f"连不上企业微信 API：{error}"
