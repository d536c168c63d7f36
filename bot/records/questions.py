"""What a guided record flow asks next, in the words a mentor reads: ``next_question(flow,
situation)`` is pure. A question carries the flow to keep while it waits for the answer (its
``step`` set, and for the student card the page shown); the handler only draws it as a card or
a text (``handlers.record_flow``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from bot.core.models import RecordKind
from bot.records.dates import When, format_day, format_moment
from bot.records.flow import (
    OPTIONAL_STUDENTS,
    Flow,
    Situation,
    kind_name,
    next_step,
    place_text,
    spec_for,
)
from bot.records.names import Student
from bot.records.uploads import PURPOSES, purpose_for_kind, upload_url

PAGE_SIZE = 18
NEXT_PAGE = "next"  # the student card's option that turns the page
CANCEL_HINT = "发送“取消”可退出。"
EMPTY_ROSTER = "您本学年的学生名单是空的，暂时无法记录，请联系学院管理员。"
CARE_NOTE_PROMPT = (
    "请发送关爱记录的内容（学业、生活或心理状况，以及跟进安排）。"
    "内容加密保存，仅您、学院管理员和书院部可查看。发送“取消”可退出。"
)


@dataclass(frozen=True)
class Button:
    """A button answering the question; ``value`` goes into the card key."""

    value: str
    text: str
    secondary: bool = False  # drawn grey (skip, cancel)


@dataclass(frozen=True)
class Buttons:
    """A card of buttons (with ``fields`` to check first, on the confirm card)."""

    flow: Flow
    title: str
    prompt: str
    buttons: tuple[Button, ...]
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Prompt:
    """A question answered by text; ``markdown`` when it holds a link."""

    flow: Flow
    text: str
    markdown: bool = False


@dataclass(frozen=True)
class Option:
    value: str
    text: str
    checked: bool = False


@dataclass(frozen=True)
class PickStudents:
    """The student card: one page of the mentor's students (or of the candidates a name
    matched), submitted with ``flow.page``."""

    flow: Flow
    title: str
    prompt: str
    options: tuple[Option, ...]
    multiple: bool


@dataclass(frozen=True)
class Ready:
    """Nothing is missing: the flow is saved (``bot.records.service.save_flow``)."""

    flow: Flow


Question = Buttons | Prompt | PickStudents | Ready


def next_question(flow: Flow, situation: Situation) -> Question:
    """The question the flow asks now, or ``Ready`` when it is complete."""
    step = next_step(flow)
    if step == "save":
        return Ready(flow)
    return _ASK[step](replace(flow, step=step), situation)


def _ask_who(flow: Flow, situation: Situation) -> Question:
    return Buttons(
        flow,
        "记录沟通",
        "这次是和谁沟通？",
        (Button("counsellor", "学生的辅导员"), Button("leader", "学院院长/副院长")),
    )


def _ask_title(flow: Flow, situation: Situation) -> Question:
    spec = spec_for(flow)
    if spec.choices:
        buttons = tuple(Button(choice.value, choice.text) for choice in spec.choices)
        return Buttons(flow, f"{kind_name(flow)}：类型", spec.title_prompt, buttons)
    purpose = purpose_for_kind(flow.kind) if spec.upload else None
    if purpose is None:
        return Prompt(flow, f"{spec.title_prompt}{CANCEL_HINT}")
    return Prompt(
        flow,
        f"{spec.title_prompt}\n"
        f"如有{PURPOSES[purpose].title}文件，"
        f"请[点击这里上传]({upload_url(situation.base_url, purpose)})，"
        f"上传后会自动登记，不必在这里再记一次。{CANCEL_HINT}",
        markdown=True,
    )


def last_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _ask_month(flow: Flow, situation: Situation) -> Question:
    today = situation.today
    last = last_month_end(today)
    buttons = [Button("this", f"本月（{today.month}月）")]
    if last >= situation.year_starts:
        buttons.append(Button("last", f"上月（{last.month}月）"))
    return Buttons(
        flow, f"{kind_name(flow)}：月份", "是哪个月的？也可以直接发送月份，如 11月", tuple(buttons)
    )


def _ask_students(flow: Flow, situation: Situation) -> Question:
    pool = _pool(flow, situation)
    if not pool:
        return Prompt(flow, EMPTY_ROSTER)
    page = flow.page if flow.page * PAGE_SIZE < len(pool) else 0
    start = page * PAGE_SIZE
    shown = pool[start : start + PAGE_SIZE]
    flow = replace(flow, page=page, shown_ids=tuple(student.id for student in shown))
    options = [Option(str(s.id), s.name, checked=s.id in flow.student_ids) for s in shown]
    more = start + PAGE_SIZE < len(pool)
    if more:
        options.append(Option(NEXT_PAGE, "下一页 ▶"))
    lines = list(flow.problems)
    chosen = situation.names(flow.student_ids)
    if chosen:
        lines.append("已选：" + "、".join(chosen))
    lines.append("找不到？直接发送姓名、拼音或首字母搜索")
    if flow.kind in OPTIONAL_STUDENTS:
        lines.append("没有学生参加可以不选，直接点“下一步”")
    pages = (len(pool) + PAGE_SIZE - 1) // PAGE_SIZE
    title = "选择学生" if pages == 1 else f"选择学生（第{page + 1}/{pages}页）"
    single = flow.kind == RecordKind.CARE
    return PickStudents(
        flow, f"{kind_name(flow)}：{title}", "\n".join(lines), tuple(options), not single or more
    )


def _pool(flow: Flow, situation: Situation) -> list[Student]:
    if flow.candidate_ids:
        wanted = set(flow.candidate_ids) | set(flow.student_ids)
        return [student for student in situation.students if student.id in wanted]
    return list(situation.students)


HOURS = (("h0900", "上午 9:00"), ("h1500", "下午 3:00"), ("h1900", "晚上 7:00"))


def _ask_time(flow: Flow, situation: Situation) -> Question:
    if flow.needs_hour and flow.day is not None:
        day = date.fromisoformat(flow.day)
        return Buttons(
            flow,
            f"{kind_name(flow)}：几点",
            f"{day.month}月{day.day}日几点？请点选，或直接发送时间，如 19:30、下午4点"
            + ("（其余内容已记下）" if flow.quick else ""),
            tuple(Button(value, text) for value, text in HOURS),
        )
    return Buttons(
        flow,
        f"{kind_name(flow)}：时间",
        "是哪一天？也可以直接发送日期，如 11月20日 19:00、周三",
        (Button("0", "今天"), Button("1", "昨天"), Button("2", "前天")),
    )


def _ask_place(flow: Flow, situation: Situation) -> Question:
    return Buttons(
        flow,
        f"{kind_name(flow)}：地点",
        "线上还是线下？线下可以直接发送地点，如 图书馆",
        (Button("online", "线上"), Button("offline", "线下"), Button("skip", "跳过", True)),
    )


def _ask_note(flow: Flow, situation: Situation) -> Question:
    if flow.kind == RecordKind.CARE:
        return Prompt(flow, CARE_NOTE_PROMPT)
    return Buttons(
        flow,
        f"{kind_name(flow)}：内容",
        spec_for(flow).note_prompt,
        (Button("skip", "跳过", True),),
    )


def _ask_confirm(flow: Flow, situation: Situation) -> Question:
    return Buttons(
        flow,
        f"确认{kind_name(flow)}",
        "请核对后保存",
        (Button("save", "保存"), Button("cancel", "取消", True)),
        fields=tuple(summary_fields(flow, situation)),
    )


_ASK = {
    "title": _ask_title,
    "month": _ask_month,
    "who": _ask_who,
    "students": _ask_students,
    "time": _ask_time,
    "place": _ask_place,
    "note": _ask_note,
    "confirm": _ask_confirm,
}


def moment_of(flow: Flow, situation: Situation) -> datetime:
    """When the recorded thing happened (today when no day is given yet)."""
    day = date.fromisoformat(flow.day or situation.today.isoformat())
    at = time.fromisoformat(flow.at) if flow.at else None
    return When(day, at).moment(situation.zone, situation.now)


def summary_fields(flow: Flow, situation: Situation) -> list[tuple[str, str]]:
    """What the confirm card shows, and the saved message repeats."""
    spec = spec_for(flow)
    moment = moment_of(flow, situation)
    fields = []
    if flow.title:
        fields.append((spec.title_label, flow.title[:30]))
    if "month" in spec.steps:
        fields.append(("月份", f"{moment.year}年{moment.month}月"))
    elif "time" in spec.steps:
        fields.append(("时间", format_moment(moment)))
    else:  # the time of day is never asked for this kind: its day, not a made-up hour
        fields.append(("日期", format_day(moment)))
    if flow.student_ids:
        names = situation.names(flow.student_ids)
        fields.append(
            ("学生", "、".join(names[:6]) + (f"等{len(names)}人" if len(names) > 6 else ""))
        )
    if RecordKind(flow.kind) == RecordKind.CARE:
        fields.append(("内容", "已填写（加密保存）"))
        return fields
    if "place" in spec.steps or flow.place:
        fields.append(("地点", place_text(flow)))
    if "note" in spec.steps or flow.note:
        fields.append(("内容", (flow.note or "无")[:30]))
    return fields
