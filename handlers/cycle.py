"""考核: opening the cycle, progress, scoring cards, submitting, publication, closing and
exports, for the academy office and college administrators; a mentor's own result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.chat.context import Context, Reply
from bot.chat.router import STALE_CARD, CardKey, Router, only
from bot.core.echo import echo
from bot.core.models import AssessmentCycle, CycleStatus, Role
from bot.cycle import (
    access,
    closing,
    cycles,
    messages,
    opening,
    progress,
    publication,
    submissions,
    windows,
)
from bot.cycle.cycles import CycleError, Env
from bot.cycle.results import current, members
from bot.cycle.submissions import Scope
from bot.ratings import rules
from bot.wecom import cards
from bot.wecom.messages import ClickEvent, TemplateCardEvent, TextMessage
from handlers.help import examples_for

router = Router("cycle")

_DEADLINE = re.compile(r"^(自评|学院|书院部)(?:截止)?[:：]?(\d{4}-\d{1,2}-\d{1,2})$")
_STEP_WORDS = {"自评": "self", "学院": "college", "书院部": "academy", "公示": "publish"}


def env(ctx: Context) -> Env:
    """Charts and workbooks are saved in the app's file store before they are queued."""
    return Env(ctx.settings.PUBLIC_BASE_URL, ctx.zone, ctx.files)


OFFICE_ONLY = "只有书院部管理员可以这样做。"


def _words(message: TextMessage) -> list[str]:
    return message.content.split()[1:]


@dataclass(frozen=True)
class OpenTap:
    """The plan the office confirms: the year and each deadline ("-" when not given)."""

    year: str
    self_day: str
    college_day: str
    academy_day: str
    publish_day: str
    choice: Literal["open", "cancel"]


OPEN = CardKey("cycle_open", OpenTap)
_NO_DAY = "-"


@router.on_command("开启考核")
@only(Role.ACADEMY_ADMIN, refusal=OFFICE_ONLY)
def ask_to_open_cycle(message: TextMessage, ctx: Context) -> Reply:
    """``开启考核 2025-2026 [自评 日期] [学院 日期] [书院部 日期] [公示 日期]``: checked, then
    shown on a card with 确认开启 / 取消; nothing is opened before the tap."""
    words = _words(message)
    if not words or not re.fullmatch(r"\d{4}-\d{4}", words[0]):
        ex = examples_for(ctx, [Role.ACADEMY_ADMIN])  # the year that may be opened, as help has it
        return Reply.text(
            f"请写明学年，例如：开启考核 {ex.assessed}\n"
            f"可加截止日期（按此顺序）：开启考核 {ex.assessed} 自评 {ex.day(14)} "
            f"学院 {ex.day(21)} 书院部 {ex.day(28)} 公示 {ex.day(35)}"
        )
    deadlines: dict[str, str] = {}
    rest = " ".join(words[1:]).replace("截止", "")
    tokens = rest.split()
    for word, day in zip(tokens[::2], tokens[1::2], strict=False):
        if word not in _STEP_WORDS:
            return Reply.text(
                f"看不懂“{echo(word)}”：日期写作 自评/学院/书院部/公示 + 日期（2026-09-05）"
            )
        try:
            deadlines[_STEP_WORDS[word]] = _iso(day)
        except ValueError:
            return Reply.text(f"“{echo(day)}”不是日期，请写作 2026-09-05。")
    if len(tokens) % 2:
        last = echo(tokens[-1])
        return Reply.text(f"“{last}”后面缺少日期，请写作 {last} 2026-09-05。")
    try:
        plan = opening.plan_opening(
            ctx.session, year_code=words[0], now=ctx.now, env=env(ctx), deadlines=deadlines
        )
    except CycleError as exc:
        return Reply.text(str(exc))
    days = [plan.deadlines.get(step, _NO_DAY) for step in opening.ORDER]
    card = cards.button_interaction(
        f"开启 {plan.year_code} 学年导师考核？",
        desc=(
            f"{plan.colleges} 个学院、{plan.mentors} 位导师。"
            "开启后将通知导师、各学院管理员和书院部。"
        ),
        sub_title="\n".join(messages.deadline_lines(plan.deadlines)),
        task_id=ctx.new_task_id("cycle-open"),
        buttons=[
            cards.Button(OPEN.pack(plan.year_code, *days, "open"), "确认开启", 1),
            cards.Button(OPEN.pack(plan.year_code, *days, "cancel"), "取消", 4),
        ],
    )
    return Reply.template_card(card)


@router.on_card(OPEN)
@only(Role.ACADEMY_ADMIN, refusal=OFFICE_ONLY)
def open_cycle(message: TemplateCardEvent, ctx: Context) -> Reply:
    tap = OPEN.unpack(message.event_key)
    if tap.choice == "cancel":
        ctx.update_card(message.response_code, replace_name="已取消")
        return Reply.text(f"已取消，没有开启 {tap.year} 学年考核。")
    given = (tap.self_day, tap.college_day, tap.academy_day, tap.publish_day)
    deadlines = {s: d for s, d in zip(opening.ORDER, given, strict=True) if d != _NO_DAY}
    try:
        cycle = opening.open_cycle(
            ctx.session, year_code=tap.year, actor=ctx.person, now=ctx.now, env=env(ctx),
            deadlines=deadlines, policy=rules.policy_from(ctx.settings),
        )  # fmt: skip
    except CycleError as exc:
        return Reply.text(str(exc))
    ctx.update_card(message.response_code, replace_name="已开启")
    return Reply.text(
        f"已开启 {tap.year} 学年考核，已通知导师、各学院管理员和书院部。\n"
        + "\n".join(messages.deadline_lines(cycle.deadlines))
        + "\n随时发送“进度”查看。"
    )


def _iso(text: str) -> str:
    """``2026-09-05`` as an ISO date; ValueError for anything else."""
    found = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text)
    if found is None:
        raise ValueError(text)
    return date(*(int(part) for part in found.groups())).isoformat()


@router.on_command("进度")
@only(Role.ACADEMY_ADMIN, Role.COLLEGE_ADMIN, refusal="考核进度只对书院部和学院管理员开放。")
def show_progress(message: TextMessage, ctx: Context) -> Reply:
    try:
        cycle = cycles.require_cycle(ctx.session)
    except CycleError as exc:
        return Reply.text(str(exc))
    notes = _open_windows(ctx, cycle) if cycle.status == CycleStatus.OPEN else []
    return Reply.text(
        progress.progress_text(ctx.session, cycle, ctx.person, ctx.local_now.date(), notes)
    )


def _open_windows(ctx: Context, cycle: AssessmentCycle) -> list[str]:
    policy = rules.policy_from(ctx.settings)
    return windows.open_windows(ctx.session, cycle, now=ctx.now, policy=policy)


def _scopes(ctx: Context) -> list[Scope]:
    scopes = [
        Scope(messages.college_scope(c), c) for c in sorted(access.admin_college_ids(ctx.person))
    ]
    if access.is_office(ctx.person):
        scopes.append(Scope(messages.ACADEMY_SCOPE, None))
    return scopes


SCORERS_ONLY = "评分表只发给学院管理员和书院部管理员。"


@router.on_command("评分表")
@only(Role.ACADEMY_ADMIN, Role.COLLEGE_ADMIN, refusal=SCORERS_ONLY)
def resend_cards(message: TextMessage, ctx: Context) -> Reply:
    scopes = _scopes(ctx)
    if not scopes:
        return Reply.text(SCORERS_ONLY)
    try:
        cycle = cycles.require_cycle(ctx.session)
    except CycleError as exc:
        return Reply.text(str(exc))
    lines = ["**评分表**"]
    for scope in scopes:
        url = messages.hub_url(ctx.settings.PUBLIC_BASE_URL, cycle.id, scope.name)
        lines.append(f"> [{submissions.scope_title(ctx.session, scope)}：下载与上传评分表]({url})")
    lines.append("全部评完后发送“提交评分”。")
    return Reply.markdown("\n".join(lines))


def _submit(ctx: Context, scope: Scope, *, confirmed: bool = False) -> str:
    if not submissions.may_score(ctx.person, scope):
        return "您不能提交这个范围的评分。"
    try:
        cycle = cycles.require_cycle(ctx.session)
        return submissions.submit(
            ctx.session, cycle, scope, actor=ctx.person, now=ctx.now, confirmed=confirmed
        )
    except CycleError as exc:
        return str(exc)


@router.on_command("提交评分")
@only(Role.ACADEMY_ADMIN, Role.COLLEGE_ADMIN, refusal="只有学院管理员和书院部管理员需要提交评分。")
def submit_text(message: TextMessage, ctx: Context) -> Reply:
    scopes = _scopes(ctx)
    if not scopes:
        return Reply.text("只有学院管理员和书院部管理员需要提交评分。")
    words = _words(message)
    if len(scopes) > 1:
        wanted = "书院部" if words and words[0] == "书院部" else None
        scopes = [s for s in scopes if (s.college_id is None) == (wanted == "书院部")][:1]
    return Reply.text(_submit(ctx, scopes[0], confirmed="确认" in words))


@router.on_card(messages.SUBMIT)
def submit_card(message: TemplateCardEvent, ctx: Context) -> Reply:
    tap = messages.SUBMIT.unpack(message.event_key)
    scope = submissions.parse_scope(tap.scope)
    if scope is None:
        return Reply.text(STALE_CARD)
    answer = _submit(ctx, scope)
    if answer.startswith("已提交"):
        ctx.update_card(message.response_code, replace_name="已提交")
    return Reply.text(answer)


@router.on_command("公示")
@only(Role.ACADEMY_ADMIN, refusal=OFFICE_ONLY)
def publish(message: TextMessage, ctx: Context) -> Reply:
    force = "强制" in _words(message)
    try:
        cycle = cycles.require_cycle(ctx.session)
        still_open = _open_windows(ctx, cycle) if cycle.status == CycleStatus.OPEN else []
        answer = publication.publish(
            ctx.session, cycle, actor=ctx.person, now=ctx.now, env=env(ctx), force=force,
            open_windows=still_open,
        )  # fmt: skip
    except CycleError as exc:
        return Reply.text(str(exc))
    return Reply.text(answer)


@router.on_command("结束考核")
@only(Role.ACADEMY_ADMIN, refusal=OFFICE_ONLY)
def close(message: TextMessage, ctx: Context) -> Reply:
    """``结束考核``, or ``结束考核 强制 [原因]`` (the reason needed in the objection period)."""
    words = _words(message)
    force = bool(words) and words[0] == "强制"
    reason = " ".join(words[1:]) if force else ""
    try:
        cycle = cycles.require_cycle(ctx.session)
        return Reply.text(
            closing.close(
                ctx.session, cycle, actor=ctx.person, now=ctx.now, env=env(ctx), force=force,
                reason=reason,
            )
        )  # fmt: skip
    except CycleError as exc:
        return Reply.text(str(exc))


@router.on_command("导出")
@only(Role.ACADEMY_ADMIN, refusal=OFFICE_ONLY)
def exports(message: TextMessage, ctx: Context) -> Reply:
    try:
        cycle = cycles.require_cycle(ctx.session)
    except CycleError as exc:
        return Reply.text(str(exc))
    if cycle.status != CycleStatus.CLOSED:
        return Reply.text("考核结束后才能导出最终结果。公示期间可在公示通知中下载全校结果表。")
    base = f"{ctx.settings.PUBLIC_BASE_URL}/m/cycle/{cycle.id}/export"
    return Reply.markdown(
        f"**{cycle.year.code} 学年考核导出**\n"
        f"> [各学院优秀导师名单]({base}/outstanding.xlsx)\n"
        f"> [导师历年考核记录（人事处）]({base}/history.xlsx)\n"
        f"> [全部考核结果]({base}/results.xlsx)"
    )


MENU_MY_ASSESSMENT = "my_assessment"
MENTORS_ONLY = "学年考核面向异科导师，您不需要自评或查看考核结果。发送“帮助”查看您可以做什么。"
NOT_OPEN_YET = "本学年考核还没有开启。开启后机器人会通知您，届时在这里填写自评、查看结果。"


@router.on_command("考核结果", "我的考核", "自评")
@router.on_menu(MENU_MY_ASSESSMENT)
@only(Role.MENTOR, refusal=MENTORS_ONLY)
def my_result(message: TextMessage | ClickEvent, ctx: Context) -> Reply:
    """While the cycle is open: the self-assessment link and deadline; afterwards: the result."""
    cycle = cycles.find_cycle(ctx.session)
    if cycle is None:  # how the office opens one is the office's business
        return Reply.text(NOT_OPEN_YET)
    if cycle.status == CycleStatus.OPEN:
        if not any(m.person.id == ctx.person.id for m in members(ctx.session, cycle)):
            return Reply.text("您不在本次考核的导师名单中。")
        return messages.self_assessment_prompt(
            cycle.year.code, cycle.deadlines, ctx.settings.PUBLIC_BASE_URL, cycle.id,
            done=progress.has_self_assessed(ctx.session, cycle, ctx.person.id),
        )  # fmt: skip
    results = current(ctx.session, cycle)  # the stored results after 公示
    if not results.has(ctx.person.id):
        return Reply.text("您不在本次考核的导师名单中。")
    return messages.result_card(
        cycle.year.code, ctx.person.name, results.of(ctx.person.id),
        base=ctx.settings.PUBLIC_BASE_URL, cycle_id=cycle.id,
        objections_until=publication.objections_until_text(cycle, ctx.zone),
    )  # fmt: skip
