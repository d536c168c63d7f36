"""帮助: what this person can do, by role. Also the answer to any unrecognised text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.chat.context import Context, Reply
from bot.chat.router import CardKey, Router
from bot.core.models import ROLE_NAMES, Role
from bot.wecom import cards

router = Router("help")

MENU_HELP = "help"

_BY_ROLE: dict[Role, list[str]] = {
    Role.MENTOR: [
        "记录个别交流：交流 张三 李四 线上 聊选课",
        "记录集体活动：活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四",
        "记录沟通：沟通 辅导员 昨天 了解学生近况（或 沟通 院长 …）",
        "记录关爱：关爱 张三 近况与跟进安排（加密保存）",
        "其他：宣传 …、书院 …、资源 …、月计划 …、月总结 …",
        "只发命令词（如“交流”）或点菜单“记录”，按卡片一步步填写；发送“取消”退出",
        "查看本周、本学期进度：我的",
        "发送照片可作为最近一条记录的佐证",
        "查看、修改、删除自己的记录：记录",
        "上传学期计划、月度计划和总结、年度工作总结：上传",
    ],
    Role.STUDENT: [
        "活动结束后会收到评价卡片，点选满意度即可（匿名，导师只能看到汇总）",
    ],
    Role.COUNSELLOR: ["导师与您沟通后会记录在导师的工作台账中"],
    Role.COLLEGE_ADMIN: [
        "考核期间通过机器人接收本学院导师评分表，在卡片链接中上传填好的表格",
        "查看本学院考核进度：进度",
    ],
    Role.ACADEMY_ADMIN: [
        "开启学年考核：开启考核 2025-2026",
        "查看全校考核进度：进度",
        "导出学生评价明细（审计用）：导出评价（本学年）或 导出评价 2025-2026",
    ],
    Role.COLLEGE_HEAD: ["考核结果公示时会收到本学院导师排名汇总"],
    Role.UNIT_HEAD: ["考核结果公示时会收到本单位导师的考核结果"],
    Role.SYSTEM_ADMIN: ["名单导入与系统维护请使用服务器命令行（见 README）"],
    Role.HR: [
        "考核结果公示和每次更正时会收到通知，可在通知链接中查看全校结果和优秀导师名单",
        "导师历年考核记录（职称评审参考）：考核总览页面中下载",
    ],
    Role.ACADEMIC_AFFAIRS: [
        "考核结果公示和每次更正时会收到通知，可在通知链接中查看全校结果和优秀导师名单",
    ],
}


def help_text(roles: list[Role]) -> str:
    lines = [f"您的身份：{'、'.join(ROLE_NAMES[role] for role in roles) or '未分配'}", ""]
    lines.append("您可以：")
    for role in roles:
        lines.extend(f"· {line}" for line in _BY_ROLE.get(role, []))
    lines.append("· 发送“帮助”查看本说明")
    return "\n".join(lines)


def _roles(ctx: Context) -> list[Role]:
    held = {grant.role for grant in ctx.person.roles}
    return [role for role in Role if role in held]


@router.on_command("帮助", "help", "？", "?")
@router.on_menu(MENU_HELP)
def show_help(message: Any, ctx: Context) -> Reply:
    return Reply.text(help_text(_roles(ctx)))


def answer_unrecognised(message: Any, ctx: Context) -> Reply:
    """Anything no handler claims: say so, then what this person can do."""
    return Reply.text("抱歉，没有理解您的消息。\n\n" + help_text(_roles(ctx)))


@dataclass(frozen=True)
class HelpTap:
    topic: str


HELP_CARD = CardKey("help", HelpTap)
TOPICS = {"full": "查看帮助", "examples": "使用示例"}

_EXAMPLES: dict[Role, list[str]] = {
    Role.MENTOR: [
        "交流 张三 线上 聊选课",
        "交流 张三 李四 昨天 图书馆 讨论考研规划",
        "活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四、王五",
        "我的",
    ],
    Role.COLLEGE_ADMIN: ["进度"],
    Role.ACADEMY_ADMIN: ["开启考核 2025-2026", "进度", "导出评价"],
}


def examples_text(roles: list[Role]) -> str:
    lines = [example for role in roles for example in _EXAMPLES.get(role, [])]
    if not lines:
        return "您目前不需要输入命令：需要您操作时，机器人会发送卡片给您。"
    return "可以直接发送这样的消息：\n" + "\n".join(f"· {line}" for line in lines)


@router.on_event("enter_agent")
def greet(message: Any, ctx: Context) -> Reply | None:
    """Opening the app shows a welcome card, at most once a day."""
    roles = _roles(ctx)
    card = cards.button_interaction(
        "全生异科导师",
        desc=f"您好，{ctx.person.name}",
        sub_title=f"身份：{'、'.join(ROLE_NAMES[role] for role in roles) or '未分配'}",
        task_id=ctx.new_task_id("welcome"),
        buttons=[cards.Button(HELP_CARD.pack(topic), text) for topic, text in TOPICS.items()],
    )
    day = ctx.local_now.date().isoformat()
    ctx.send([ctx.person.userid], Reply.template_card(card), key=f"welcome:{day}")
    return None


@router.on_card(HELP_CARD)
def answer_help_card(message: Any, ctx: Context) -> Reply:
    topic = HELP_CARD.unpack(message.event_key).topic
    ctx.update_card(message.response_code, replace_name=f"已{TOPICS.get(topic, '查看')}")
    if topic == "examples":
        return Reply.text(examples_text(_roles(ctx)))
    return Reply.text(help_text(_roles(ctx)))
