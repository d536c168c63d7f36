"""帮助: what this person can do, by role. Also the answer to any unrecognised text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from bot.chat.context import Context, Reply
from bot.chat.router import CardKey, Router
from bot.core.models import ROLE_NAMES, AcademicYear, Role
from bot.core.rubrics import example_item, latest_rubric_name, rubric_or_default
from bot.cycle.opening import opens_from
from bot.records.service import assignment_for, roster
from bot.wecom import cards
from bot.wecom.messages import ClickEvent, EnterAgentEvent, Message, TemplateCardEvent, TextMessage

router = Router("help")

MENU_HELP = "help"


@dataclass(frozen=True)
class Examples:
    """What the examples in help name, from the current data: the academic year that contains
    today (its calendar is imported), two of the mentor's students, an item of the rubric."""

    year: str
    today: date
    assessed: str = ""  # the year whose assessment the office may open today
    names: tuple[str, str] = ("张三", "李四")
    item: str = ""
    opens_on: date | None = None  # when no year may be opened yet: the day ``assessed`` may

    def day(self, days: int) -> str:
        start = max(self.today, self.opens_on or self.today)
        return (start + timedelta(days=days)).isoformat()


def _mentor(ex: Examples) -> list[str]:
    one, two = ex.names
    return [
        f"记录个别交流：“交流 {one} 线上 聊选课”（或“个别交流 …”）",
        f"记录集体活动：“活动 读书沙龙 昨天19:00 图书馆 参加：{one}、{two}”（或“集体活动 …”）",
        "记录沟通：“沟通 辅导员 昨天16:00 了解学生近况”（或 沟通 院长 …）",
        f"记录关爱：“关爱 {one} 近况与跟进安排”（加密保存）",
        "其他记录：“宣传 …”“书院 …”“资源 …”“学期计划 …”“月计划 …”（或“计划 …”）"
        "“月总结 …”（或“总结 …”）",
        "只发命令词（如“交流”）或点菜单“记录”，按卡片一步步填写；“取消”（或“退出”）退出",
        "本周、本学期进度：“我的”；发送照片可作为最近一条记录的佐证",
        "自己的记录：“记录”（或“我的记录”）列出，“查看 1”“修改 1 地点 图书馆”“删除 1”，"
        "一天内可“恢复”",
        "上传学期计划、月度计划和总结、年度工作总结：“上传”",
        "学年考核：“我的考核”（或“自评”“考核结果”）填写自评、查看结果",
        "公示期间对结果有异议：点结果卡片上的“提出异议”，"
        f"或发送“异议 {ex.item} 我上传了学期计划，请核实”",
    ]


def _office(ex: Examples) -> list[str]:
    when = ""
    if ex.opens_on is not None and ex.opens_on > ex.today:  # no year may be opened today
        when = f"（学年结束后开启，{ex.opens_on.year}年{ex.opens_on.month}月{ex.opens_on.day}日起）"
    return [
        f"开启学年考核：“开启考核 {ex.assessed}”{when}，可带截止日期："
        f"开启考核 {ex.assessed} 自评 {ex.day(14)} 学院 {ex.day(21)} 书院部 {ex.day(28)}",
        "考核进度与未完成名单：“进度”",
        "书院部评分表（下载、上传）：“评分表”；评完后“提交评分 书院部”",
        "公示结果：“公示”（仍有未完成时按提示发送“公示 强制”）",
        "答复异议：“答复 3 已核实，分数无误”",
        f"更正分数：“更正 3 {ex.item} 4.5 已核实学期计划”（须写原因）",
        "异议期满后结束考核：“结束考核”；结束后导出结果：“导出”",
        f"导出学生评价明细（审计用）：“导出评价”（本学年）或“导出评价 {ex.year}”",
        "查看一条关爱记录：“查看 #记录编号”",
    ]


def _college_admin(ex: Examples) -> list[str]:
    return [
        "本学院考核进度与未完成名单：“进度”",
        "本学院导师评分表（下载、上传）：“评分表”；评完后“提交评分”",
        "查看本学院导师的关爱记录：“查看 #记录编号”",
    ]


_BY_ROLE: dict[Role, Callable[[Examples], list[str]]] = {
    Role.MENTOR: _mentor,
    Role.STUDENT: lambda ex: [
        "活动结束后会收到评价卡片，点选满意度即可（匿名，导师只能看到汇总）",
    ],
    Role.COUNSELLOR: lambda ex: ["导师与您沟通后会记录在导师的工作台账中"],
    Role.COLLEGE_ADMIN: _college_admin,
    Role.ACADEMY_ADMIN: _office,
    Role.COLLEGE_HEAD: lambda ex: ["考核结果公示和考核结束时会收到本学院导师排名汇总"],
    Role.UNIT_HEAD: lambda ex: ["考核结果公示和考核结束时会收到本单位导师的考核结果"],
    Role.SYSTEM_ADMIN: lambda ex: ["名单导入与系统维护请使用服务器命令行（见 README）"],
    Role.HR: lambda ex: [
        "考核结果公示、每次更正和考核结束时会收到通知，可在通知链接中查看全校结果和优秀导师名单",
        "导师历年考核记录（职称评审参考）：考核总览页面中下载",
    ],
    Role.ACADEMIC_AFFAIRS: lambda ex: [
        "考核结果公示、每次更正和考核结束时会收到通知，可在通知链接中查看全校结果和优秀导师名单",
    ],
}
# one WeCom text is at most 2,048 bytes: a person with several roles gets several messages
_MESSAGE_BYTES = 1900


def help_texts(roles: list[Role], examples: Examples, *, lead: str = "") -> list[str]:
    """What a person holding ``roles`` can send, role by role, as one or more texts."""
    head = f"{lead}您的身份：{'、'.join(ROLE_NAMES[role] for role in roles) or '未分配'}"
    blocks = [
        "\n".join(
            [f"作为{ROLE_NAMES[role]}，您可以：", *(f"· {x}" for x in _BY_ROLE[role](examples))]
        )
        for role in roles
    ]
    blocks.append("发送“帮助”（或“help”“?”“？”）查看本说明")
    texts = [head]
    for block in blocks:
        joined = f"{texts[-1]}\n\n{block}"
        if len(joined.encode()) <= _MESSAGE_BYTES:
            texts[-1] = joined
        else:
            texts.append(block)
    return texts


def help_text(roles: list[Role], examples: Examples) -> str:
    """All of help as one text (tests and short role sets)."""
    return "\n\n".join(help_texts(roles, examples))


def _roles(ctx: Context) -> list[Role]:
    held = {grant.role for grant in ctx.person.roles}
    return [role for role in Role if role in held]


# One round trip for the examples: the years (a handful, newest first) beside the current
# rubric's name, from a one-row table joined to them so that the name comes back when there is
# no year. Built once: help is the most frequent message.
_ONE_ROW = sa.select(sa.literal(1).label("one")).subquery()
_YEARS_AND_RUBRIC = (
    sa.select(
        latest_rubric_name().label("rubric"),
        AcademicYear.id,
        AcademicYear.code,
        AcademicYear.starts_on,
        AcademicYear.ends_on,
    )
    .select_from(_ONE_ROW.outerjoin(AcademicYear, sa.true()))
    .order_by(AcademicYear.starts_on.desc())
)


def examples_for(ctx: Context, roles: list[Role]) -> Examples:
    """Examples that work today, read only for the roles whose help names them (a student's
    help reads nothing): the year holding today (else the latest year on record), the latest
    year whose assessment may be opened today (else the first year on record, with the day it
    may be opened; with none, last year's code), the first two of the mentor's students this
    year, an item of the current rubric."""
    today = ctx.local_now.date()
    start = today.year if today.month >= 9 else today.year - 1
    examples = Examples(f"{start}-{start + 1}", today, f"{start - 1}-{start}")
    mentor, office = Role.MENTOR in roles, Role.ACADEMY_ADMIN in roles
    if not (mentor or office):
        return examples
    rows = ctx.session.execute(_YEARS_AND_RUBRIC).all()
    years = [row for row in rows if row.id is not None]
    year = next((held for held in years if held.starts_on <= today <= held.ends_on), None)
    year = year or (years[0] if years else None)
    code = year.code if year is not None else examples.year
    openable = next((held for held in years if opens_from(held) <= today), None)
    assessed, opens_on = examples.assessed, None
    if openable is not None:
        assessed = openable.code
    elif years:  # none has ended (a new installation, the demo): the first on record
        assessed, opens_on = years[-1].code, opens_from(years[-1])
    names = examples.names
    if mentor and year is not None:
        assignment = assignment_for(ctx.session, ctx.person.id, year.id)
        students = [] if assignment is None else [s.name for s in roster(ctx.session, assignment)]
        names = (*students[:2], *names[len(students[:2]) :])
    item = example_item(rubric_or_default(rows[0].rubric))
    return Examples(code, today, assessed, (names[0], names[1]), item, opens_on)


def _answer(ctx: Context, lead: str = "") -> Reply:
    """Help as the reply; with several roles the first parts go ahead in order."""
    roles = _roles(ctx)
    texts = help_texts(roles, examples_for(ctx, roles), lead=lead)
    for part, text in enumerate(texts[:-1]):
        ctx.send([ctx.person.userid], Reply.text(text), key=f"cb:{ctx.callback_key}:help{part}")
    return Reply.text(texts[-1])


@router.on_command("帮助", "help", "？", "?")
@router.on_menu(MENU_HELP)
def show_help(message: TextMessage | ClickEvent, ctx: Context) -> Reply:
    return _answer(ctx)


def answer_unrecognised(message: Message, ctx: Context) -> Reply:
    """Anything no handler claims: say so, then what this person can do."""
    return _answer(ctx, lead="抱歉，没有理解您的消息。\n\n")


@dataclass(frozen=True)
class HelpTap:
    topic: str


HELP_CARD = CardKey("help", HelpTap)
TOPICS = {"full": "查看帮助", "examples": "使用示例"}


def _examples(role: Role, ex: Examples) -> list[str]:
    one, two = ex.names
    # no example that is refused today: before any year has ended there is nothing to open
    opening = (
        [] if ex.opens_on is not None and ex.opens_on > ex.today else [f"开启考核 {ex.assessed}"]
    )
    return {
        Role.MENTOR: [
            f"交流 {one} 线上 聊选课",
            f"交流 {one} {two} 昨天16:00 图书馆 讨论考研规划",
            f"活动 读书沙龙 昨天19:00 图书馆 参加：{one}、{two}",
            "我的",
        ],
        Role.COLLEGE_ADMIN: ["进度", "评分表"],
        Role.ACADEMY_ADMIN: [*opening, "进度", "公示", "导出评价"],
    }.get(role, [])


def examples_text(roles: list[Role], examples: Examples) -> str:
    lines = list(dict.fromkeys(line for role in roles for line in _examples(role, examples)))
    if not lines:
        return "您目前不需要输入命令：需要您操作时，机器人会发送卡片给您。"
    return "可以直接发送这样的消息：\n" + "\n".join(f"· {line}" for line in lines)


@router.on_event("enter_agent")
def greet(message: EnterAgentEvent, ctx: Context) -> Reply | None:
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
def answer_help_card(message: TemplateCardEvent, ctx: Context) -> Reply:
    topic = HELP_CARD.unpack(message.event_key).topic
    ctx.update_card(message.response_code, replace_name=f"已{TOPICS.get(topic, '查看')}")
    if topic == "examples":
        roles = _roles(ctx)
        return Reply.text(examples_text(roles, examples_for(ctx, roles)))
    return _answer(ctx)
