"""What people are sent during a cycle: links, cards and texts (pure builders)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from bot.chat.router import CardKey
from bot.outbox.queue import Message
from bot.wecom import cards
from scoring import MentorResult
from scoring.numbers import fmt


@dataclass(frozen=True)
class SubmitTap:
    cycle_id: int
    scope: str  # submissions.parse_scope


@dataclass(frozen=True)
class ObjectTap:
    cycle_id: int


SUBMIT = CardKey("cycle_submit", SubmitTap)
OBJECT = CardKey("cycle_object", ObjectTap)

STEP_NAMES = {"self": "导师自评与年度总结", "college": "学院评分", "academy": "书院部评分"}
PUBLISH_NAME = "公示"
ACADEMY_SCOPE = "academy"


def college_scope(unit_id: int) -> str:
    return f"college-{unit_id}"


def task_id(purpose: str) -> str:
    return f"{purpose}-{uuid.uuid4().hex}"


def hub_url(base: str, cycle_id: int, scope: str) -> str:
    return f"{base}/m/cycle/{cycle_id}/scores/{scope}"


def result_url(base: str, cycle_id: int) -> str:
    return f"{base}/m/cycle/{cycle_id}/me"


def self_url(base: str, cycle_id: int) -> str:
    return f"{base}/m/cycle/{cycle_id}/self"


def results_url(base: str, cycle_id: int, **scope: int) -> str:
    query = f"?{urlencode(scope)}" if scope else ""
    return f"{base}/m/cycle/{cycle_id}/results.xlsx{query}"


def month_day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.month}月{day.day}日"


def deadline_lines(deadlines: Mapping[str, str]) -> list[str]:
    lines = [
        f"{STEP_NAMES[step]}：{month_day(day)}前"
        for step, day in deadlines.items()
        if step in STEP_NAMES
    ]
    if deadlines.get("publish"):
        lines.append(f"{PUBLISH_NAME}：{month_day(deadlines['publish'])}")
    return lines


def opening_for_mentor(
    year: str, deadlines: Mapping[str, str], base: str, cycle_id: int
) -> Message:
    lines = [f"**{year} 学年全生异科导师考核已开启**", *deadline_lines(deadlines)]
    lines.append(f"请上传年度工作总结并完成自评：[填写自评]({self_url(base, cycle_id)})")
    lines.append("年度工作总结也可以发送“上传”后上传。")
    return Message.markdown("\n".join(lines))


def self_assessment_prompt(
    year: str, deadlines: Mapping[str, str], base: str, cycle_id: int, *, done: bool
) -> Message:
    """A mentor's way into the open cycle: the self-assessment page and the summary upload."""
    state = "您已提交自评，截止前仍可修改。" if done else "您还没有提交自评。"
    lines = [
        f"**{year} 学年导师考核（评分中）**",
        state,
        *deadline_lines({k: v for k, v in deadlines.items() if k == "self"}),
    ]
    lines.append(f"[填写自评]({self_url(base, cycle_id)})（可看到本年度各项记录情况）")
    lines.append("年度工作总结请在自评页面上传，或发送“上传”。")
    return Message.markdown("\n".join(lines))


def scoring_card(
    title: str, desc: str, deadline: str | None, url: str, submit_key: str, purpose: str
) -> Message:
    fields = [("截止", deadline)] if deadline else []
    card = cards.button_interaction(
        title,
        desc=desc,
        sub_title="点开卡片：下载评分表、上传填好的评分表；全部评完后点“提交”。",
        task_id=task_id(purpose),
        buttons=[cards.Button(submit_key, "提交评分", 1)],
        fields=fields,
        url=url,
    )
    return Message.template_card(card)


def result_card(
    year: str,
    name: str,
    result: MentorResult,
    *,
    base: str,
    cycle_id: int,
    objections_until: str | None,
    changed: bool = False,
    extended: bool = False,
) -> Message:
    """The mentor's result; ``changed``: the result was corrected; ``extended``: only the
    objection period changed (a late college's scores came in)."""
    if result.total is None:
        desc = f"结果未完成：缺少 {'、'.join(result.missing)} 的评分"
    else:
        desc = f"总分 {fmt(result.total)}，学院排名第 {result.rank}"
    fields = [
        ("学院考核", fmt(result.college_points)),
        ("书院部考核", fmt(result.academy_points)),
        ("学生满意度", satisfaction_shown(result)),
        ("加分", fmt(result.bonus_points)),
        ("优秀导师", "是" if result.outstanding else "否"),
    ]
    title = f"{year} 学年考核结果" + (
        "（已更新）" if changed else "（异议期已延长）" if extended else ""
    )
    if objections_until:
        sub = f"如有异议，请在 {objections_until} 前点“提出异议”，或发送“异议 + 具体内容”。"
        card = cards.button_interaction(
            title,
            desc=f"{name}：{desc}",
            sub_title=sub,
            task_id=task_id(f"result-{cycle_id}"),
            buttons=[cards.Button(OBJECT.pack(cycle_id), "提出异议", 2)],
            fields=fields,
            url=result_url(base, cycle_id),
        )
    else:
        card = cards.text_notice(
            title,
            desc=f"{name}：{desc}",
            sub_title="考核结果已确定。",
            fields=fields,
            url=result_url(base, cycle_id),
        )
    return Message.template_card(card)


WITHHELD = "部分活动评价人数不足，不显示百分比"


def satisfaction_shown(result: MentorResult) -> str:
    """The satisfaction as a mentor may see it: the band's points, and the annual percentage
    only when no rated activity is below the anonymity threshold (it, less the activities the
    mentor is shown, would give such an activity away)."""
    points = f"{fmt(result.satisfaction_points)} 分"
    if result.satisfaction is None:
        return f"无学生评价（{points}）"
    if result.satisfaction_hidden:
        return f"{points}（{WITHHELD}）"
    return f"{fmt(result.satisfaction)}%（{points}）"


def ranking_digest(
    year: str, college: str, lines: Sequence[str], url: str, *, final: bool = False
) -> Message:
    head = f"**{college} {year} 学年导师考核{'最终结果' if final else '排名（公示）'}**"
    body = fit(lines, 1600) or "本学院没有参加考核的导师。"
    return Message.markdown(f"{head}\n{body}\n[下载本学院结果表]({url})")


def fit(lines: Sequence[str], limit: int) -> str:
    """As many lines as fit in ``limit`` UTF-8 bytes, then how many were left out."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line.encode()) + 1
        if size > limit:
            kept.append(f"……另有 {len(lines) - len(kept)} 位，见结果表")
            break
        kept.append(line)
    return "\n".join(kept)
