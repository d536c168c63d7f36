"""The guided record flow: kind → participants → time → place → note → confirm, one card at
a time, asking only the steps the kind needs (``bot.records.flow.FLOWS``).

The menu's 其他记录 answers with a card of the kinds that have no menu button of their own;
a tap starts that kind's flow. The flow lives in Redis (``bot.chat.state``) for 30 minutes;
``取消`` leaves it; a tap or text on an expired flow says so. Quick text with missing or
unclear details continues here too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from bot.chat.context import Context, Reply
from bot.chat.router import CardKey, Router
from bot.core.echo import echo
from bot.core.inputs import parse_id, parse_whole
from bot.core.models import RECORD_KIND_NAMES, RecordKind
from bot.core.rubrics import items_counted
from bot.pages.upload import PURPOSES
from bot.records import evidence
from bot.records.care import seal, unseal
from bot.records.dates import DateError, When, check_moment, format_moment, parse_time, parse_when
from bot.records.flow import (
    FLOW,
    FLOWS,
    LAST_RECORD,
    NEEDS_STUDENTS,
    OPTIONAL_STUDENTS,
    PICKER_KINDS,
    PICKER_NAMES,
    START_RECORD,
    TALK,
    Flow,
    LastRecord,
    kind_name,
    next_step,
    place_text,
    spec_for,
)
from bot.records.names import Outcome, Student, match_name, search
from bot.records.quick import COUNSELLOR_WORDS, LEADER_WORDS, ONLINE_WORDS
from bot.records.service import NewRecord, create_record
from bot.wecom import cards
from handlers.record_scope import Scope, for_mentors, mentor_scope
from handlers.uploads import upload_url

router = Router("record_flow")

PAGE_SIZE = 18
EXPIRED = "操作已过期，请重新开始（例如发送“交流”或点击菜单“记录”）。"

MENU_CONTACT = "record_contact"
MENU_ACTIVITY = "record_activity"
MENU_TALK = "record_talk"
MENU_CARE = "record_care"
MENU_OTHER = "record_other"  # the kind picker: kinds without a menu button of their own


@dataclass(frozen=True)
class PageTap:
    flow: str
    page: int


@dataclass(frozen=True)
class WhoTap:
    flow: str
    who: Literal["counsellor", "leader"]


@dataclass(frozen=True)
class ChoiceTap:
    flow: str
    choice: str


PICK = CardKey("rec_pick", PageTap)
WHO = CardKey("rec_who", WhoTap)
TITLE = CardKey("rec_title", ChoiceTap)
MONTH = CardKey("rec_month", ChoiceTap)
WHEN = CardKey("rec_when", ChoiceTap)
PLACE = CardKey("rec_place", ChoiceTap)
NOTE = CardKey("rec_note", ChoiceTap)
CONFIRM = CardKey("rec_confirm", ChoiceTap)

STUDENTS_QUESTION = "students"
NEXT_PAGE = "next"
SAVE_WORDS = {"确认", "保存", "确定", "好", "是", "对"}
THIS_MONTH_WORDS = {"本月", "这个月", "当月"}
LAST_MONTH_WORDS = {"上月", "上个月"}
CANCEL_HINT = "发送“取消”可退出。"


def start_flow(ctx: Context, scope: Scope, kind: str) -> Reply:
    flow = Flow(flow_id=uuid.uuid4().hex[:12], kind=kind)
    return advance(ctx, scope, flow)


def advance(ctx: Context, scope: Scope, flow: Flow) -> Reply | None:
    """Ask the next question, or save when nothing is missing."""
    step = next_step(flow)
    if step == "save":
        return save(ctx, scope, flow)
    flow.step = step
    ctx.conversation.put(FLOW, flow, now=ctx.now)
    return ASK[step](ctx, scope, flow)


def offer_kinds(ctx: Context) -> Reply:
    """The kind picker: one button per kind without a menu button of its own."""
    card = cards.button_interaction(
        "其他记录",
        desc="请选择要记录的类型",
        task_id=ctx.new_task_id("rec"),
        buttons=[
            cards.Button(START_RECORD.pack(kind.value), PICKER_NAMES[kind]) for kind in PICKER_KINDS
        ],
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_title(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    spec = spec_for(flow)
    if spec.choices:
        card = cards.button_interaction(
            f"{kind_name(flow)}：类型",
            desc=spec.title_prompt,
            task_id=ctx.new_task_id("rec"),
            buttons=[
                cards.Button(TITLE.pack(flow.flow_id, choice.value), choice.text)
                for choice in spec.choices
            ],
            source="全生异科导师",
        )
        return Reply.template_card(card)
    purpose = _upload_purpose(flow)
    if purpose is None:
        return Reply.text(f"{spec.title_prompt}{CANCEL_HINT}")
    title = PURPOSES[purpose].title
    return Reply.markdown(
        f"{spec.title_prompt}\n"
        f"如有{title}文件，请[点击这里上传]({upload_url(ctx, purpose)})，"
        f"上传后会自动登记，不必在这里再记一次。{CANCEL_HINT}"
    )


def _upload_purpose(flow: Flow) -> str | None:
    """The upload page's purpose for the flow's kind, when its document may be uploaded."""
    if not spec_for(flow).upload:
        return None
    return next((name for name, p in PURPOSES.items() if p.record_kind == flow.kind), None)


def ask_month(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    today = ctx.local_now.date()
    last = today.replace(day=1) - timedelta(days=1)
    buttons = [cards.Button(MONTH.pack(flow.flow_id, "this"), f"本月（{today.month}月）")]
    if last >= scope.year.starts_on:
        buttons.append(cards.Button(MONTH.pack(flow.flow_id, "last"), f"上月（{last.month}月）"))
    card = cards.button_interaction(
        f"{kind_name(flow)}：月份",
        desc="是哪个月的？也可以直接发送月份，如 11月",
        task_id=ctx.new_task_id("rec"),
        buttons=buttons,
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_who(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    card = cards.button_interaction(
        "记录沟通",
        desc="这次是和谁沟通？",
        task_id=ctx.new_task_id("rec"),
        buttons=[
            cards.Button(WHO.pack(flow.flow_id, "counsellor"), "学生的辅导员"),
            cards.Button(WHO.pack(flow.flow_id, "leader"), "学院院长/副院长"),
        ],
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_students(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    pool = _pool(scope, flow)
    if not pool:
        return Reply.text("您本学年的学生名单是空的，暂时无法记录，请联系学院管理员。")
    start = flow.page * PAGE_SIZE
    if start >= len(pool):
        flow.page, start = 0, 0
    shown = pool[start : start + PAGE_SIZE]
    flow.shown_ids = [student.id for student in shown]
    ctx.conversation.put(FLOW, flow, now=ctx.now)
    single = flow.kind == RecordKind.CARE
    optional = flow.kind in OPTIONAL_STUDENTS
    options = [cards.Option(str(s.id), s.name, checked=s.id in flow.student_ids) for s in shown]
    more = start + PAGE_SIZE < len(pool)
    if more:
        options.append(cards.Option(NEXT_PAGE, "下一页 ▶"))
    lines = list(flow.problems)
    chosen = scope.names(flow.student_ids)
    if chosen:
        lines.append("已选：" + "、".join(chosen))
    lines.append("找不到？直接发送姓名、拼音或首字母搜索")
    if optional:
        lines.append("没有学生参加可以不选，直接点“下一步”")
    pages = (len(pool) + PAGE_SIZE - 1) // PAGE_SIZE
    title = "选择学生" if pages == 1 else f"选择学生（第{flow.page + 1}/{pages}页）"
    card = cards.vote_interaction(
        f"{kind_name(flow)}：{title}",
        desc="\n".join(lines),
        task_id=ctx.new_task_id("rec"),
        question_key=STUDENTS_QUESTION,
        options=options,
        submit_key=PICK.pack(flow.flow_id, flow.page),
        submit_text="下一步",
        multiple=not single or more,
        source="全生异科导师",
    )
    return Reply.template_card(card)


def _pool(scope: Scope, flow: Flow) -> list[Student]:
    if flow.candidate_ids:
        wanted = set(flow.candidate_ids) | set(flow.student_ids)
        return [student for student in scope.students if student.id in wanted]
    return scope.students


def ask_time(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    card = cards.button_interaction(
        f"{kind_name(flow)}：时间",
        desc="是哪一天？也可以直接发送日期，如 11月20日 19:00、周三",
        task_id=ctx.new_task_id("rec"),
        buttons=[
            cards.Button(WHEN.pack(flow.flow_id, "0"), "今天"),
            cards.Button(WHEN.pack(flow.flow_id, "1"), "昨天"),
            cards.Button(WHEN.pack(flow.flow_id, "2"), "前天"),
        ],
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_place(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    card = cards.button_interaction(
        f"{kind_name(flow)}：地点",
        desc="线上还是线下？线下可以直接发送地点，如 图书馆",
        task_id=ctx.new_task_id("rec"),
        buttons=[
            cards.Button(PLACE.pack(flow.flow_id, "online"), "线上"),
            cards.Button(PLACE.pack(flow.flow_id, "offline"), "线下"),
            cards.Button(PLACE.pack(flow.flow_id, "skip"), "跳过", style=4),
        ],
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_note(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    if flow.kind == RecordKind.CARE:
        return Reply.text(
            "请发送关爱记录的内容（学业、生活或心理状况，以及跟进安排）。"
            "内容加密保存，仅您、学院管理员和书院部可查看。发送“取消”可退出。"
        )
    card = cards.button_interaction(
        f"{kind_name(flow)}：内容",
        desc=spec_for(flow).note_prompt,
        task_id=ctx.new_task_id("rec"),
        buttons=[cards.Button(NOTE.pack(flow.flow_id, "skip"), "跳过", style=4)],
        source="全生异科导师",
    )
    return Reply.template_card(card)


def ask_confirm(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    card = cards.button_interaction(
        f"确认{kind_name(flow)}",
        desc="请核对后保存",
        task_id=ctx.new_task_id("rec"),
        fields=_summary_fields(ctx, scope, flow),
        buttons=[
            cards.Button(CONFIRM.pack(flow.flow_id, "save"), "保存"),
            cards.Button(CONFIRM.pack(flow.flow_id, "cancel"), "取消", style=4),
        ],
        source="全生异科导师",
    )
    return Reply.template_card(card)


ASK = {
    "title": ask_title,
    "month": ask_month,
    "who": ask_who,
    "students": ask_students,
    "time": ask_time,
    "place": ask_place,
    "note": ask_note,
    "confirm": ask_confirm,
}


def _moment(ctx: Context, flow: Flow) -> datetime:
    day = date.fromisoformat(flow.day or ctx.local_now.date().isoformat())
    at = time.fromisoformat(flow.at) if flow.at else None
    return When(day, at).moment(ctx.zone, ctx.now)


def _summary_fields(ctx: Context, scope: Scope, flow: Flow) -> list[tuple[str, str]]:
    spec = spec_for(flow)
    moment = _moment(ctx, flow)
    fields = []
    if flow.title:
        fields.append((spec.title_label, flow.title[:30]))
    if "month" in spec.steps:
        fields.append(("月份", f"{moment.year}年{moment.month}月"))
    else:
        fields.append(("时间", format_moment(moment)))
    if flow.student_ids:
        names = scope.names(flow.student_ids)
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


def keep_note(ctx: Context, flow: Flow, text: str | None) -> None:
    """Put the note in the flow; a care note only sealed, since the flow is kept in Redis
    (for up to a day after it expires) and Redis is neither encrypted nor audited."""
    if text is not None and flow.kind == RecordKind.CARE:
        flow.note, flow.sealed_note = None, seal(ctx.settings.CARE_NOTES_KEY, text)
    else:
        flow.note, flow.sealed_note = text, None


def _note(ctx: Context, flow: Flow) -> str | None:
    if flow.sealed_note is None:
        return flow.note
    return unseal(ctx.settings.CARE_NOTES_KEY, flow.sealed_note)


def save(ctx: Context, scope: Scope, flow: Flow) -> Reply:
    kind = RecordKind(flow.kind)
    moment = _moment(ctx, flow)
    try:
        check_moment(moment, ctx.now, scope.year.starts_on, scope.year.ends_on)
        note = _note(ctx, flow)
    except DateError as exc:
        return Reply.text(str(exc))
    except ValueError:  # sealed with a key that has since been replaced
        ctx.conversation.clear(FLOW)
        return Reply.text("这次填写的内容已无法读取，没有保存。请重新记录。")
    new = NewRecord(
        kind=kind,
        occurred_at=moment,
        student_ids=list(flow.student_ids) if kind in NEEDS_STUDENTS else [],
        title=flow.title,
        place=flow.place,
        online=flow.online,
        note=note,
    )
    record = create_record(
        ctx.session,
        mentor=ctx.person,
        year=scope.year,
        new=new,
        care_key=ctx.settings.CARE_NOTES_KEY,
        now=ctx.now,
    )
    for media_id in flow.media_ids:
        evidence.attach_photo(ctx.session, record, media_id, owner=ctx.person, now=ctx.now)
    state = ctx.conversation
    state.clear(FLOW)
    state.put(LAST_RECORD, LastRecord(record.id), now=ctx.now)
    items = "、".join(items_counted(ctx.session, record))
    done = RECORD_KIND_NAMES[kind].removesuffix("记录")  # 已记录关爱, not 已记录关爱记录
    lines = [f"已记录{done}（计入考核指标 {items}）"]
    lines.extend(f"{name}：{value}" for name, value in _summary_fields(ctx, scope, flow))
    if flow.media_ids:
        lines.append(f"佐证照片：{len(flow.media_ids)} 张")
    lines.append("")
    lines.append("30分钟内发送照片可作为这条记录的佐证；发送“记录”查看或修改。")
    return Reply.text("\n".join(lines))


def _flow_for_tap(ctx: Context, message: Any, key: CardKey[Any]) -> Flow | Reply:
    flow_id = key.unpack(message.event_key).flow
    loaded = ctx.conversation.load(FLOW, now=ctx.now)
    if loaded is None or loaded.value.flow_id != flow_id:
        ctx.update_card(message.response_code, replace_name="已失效")
        return Reply.text(EXPIRED)
    if loaded.expired:
        ctx.conversation.clear(FLOW)
        ctx.update_card(message.response_code, replace_name="已过期")
        return Reply.text(EXPIRED)
    return loaded.value


def _tap(
    message: Any, ctx: Context, key: CardKey[Any], step: str, done: str
) -> tuple[Scope, Flow] | Reply:
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    flow = _flow_for_tap(ctx, message, key)
    if isinstance(flow, Reply):
        return flow
    if flow.step != step:
        ctx.update_card(message.response_code, replace_name="已失效")
        return Reply.text("这张卡片已经处理过了，请使用最新的卡片，或发送“取消”重新开始。")
    ctx.update_card(message.response_code, replace_name=done)
    return scope, flow


@router.on_card(WHO)
def choose_counterpart(message: Any, ctx: Context) -> Reply | None:
    who = WHO.unpack(message.event_key).who
    found = _tap(message, ctx, WHO, "who", "已选择")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    flow.kind = (
        RecordKind.COUNSELLOR_TALK if who == "counsellor" else RecordKind.LEADER_TALK
    ).value
    return advance(ctx, scope, flow)


@router.on_card(PICK)
def choose_students(message: Any, ctx: Context) -> Reply | None:
    found = _tap(message, ctx, PICK, "students", "已提交")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    picked = set(message.selected(STUDENTS_QUESTION))
    own = {student.id for student in scope.students}
    chosen = [sid for sid in map(parse_id, picked) if sid is not None and sid in own]
    kept = [sid for sid in flow.student_ids if sid not in flow.shown_ids]
    flow.student_ids = list(dict.fromkeys(kept + sorted(chosen)))
    if flow.kind == RecordKind.CARE and len(flow.student_ids) > 1:
        flow.student_ids = []
        return _reask(ctx, scope, flow, "一条关爱记录只记一位学生，请只勾选一位。")
    if NEXT_PAGE in picked:
        flow.page += 1
        return _reask(ctx, scope, flow, None)
    if not flow.student_ids and flow.kind not in OPTIONAL_STUDENTS:
        return _reask(ctx, scope, flow, "请至少勾选一位学生。")
    flow.students_done = True
    flow.problems, flow.candidate_ids, flow.page = [], [], 0
    return advance(ctx, scope, flow)


def _reask(ctx: Context, scope: Scope, flow: Flow, note: str | None) -> Reply:
    if note:
        ctx.send([ctx.person.userid], Reply.text(note))
    return ask_students(ctx, scope, flow)


@router.on_card(TITLE)
def choose_title(message: Any, ctx: Context) -> Reply | None:
    choice = TITLE.unpack(message.event_key).choice
    found = _tap(message, ctx, TITLE, "title", "已选择")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    chosen = next((c for c in spec_for(flow).choices if c.value == choice), None)
    if chosen is None:
        return Reply.text("这个按钮已失效，请发送“取消”后重新开始。")
    flow.title = chosen.text
    return advance(ctx, scope, flow)


@router.on_card(MONTH)
def choose_month(message: Any, ctx: Context) -> Reply | None:
    choice = MONTH.unpack(message.event_key).choice
    found = _tap(message, ctx, MONTH, "month", "已选择")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    today = ctx.local_now.date()
    day = today if choice != "last" else today.replace(day=1) - timedelta(days=1)
    return _set_month(ctx, scope, flow, day)


def _set_month(ctx: Context, scope: Scope, flow: Flow, day: date) -> Reply | None:
    """The month a plan or summary is for: today for this month, else the month's last day."""
    moment = When(day).moment(ctx.zone, ctx.now)
    try:
        check_moment(moment, ctx.now, scope.year.starts_on, scope.year.ends_on)
    except DateError as exc:
        return Reply.text(str(exc))
    flow.day, flow.at = day.isoformat(), None
    return advance(ctx, scope, flow)


@router.on_card(WHEN)
def choose_day(message: Any, ctx: Context) -> Reply | None:
    choice = WHEN.unpack(message.event_key).choice
    found = _tap(message, ctx, WHEN, "time", "已选择")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    back = int(choice) if choice in {"0", "1", "2"} else 0
    flow.day = (ctx.local_now.date() - timedelta(days=back)).isoformat()
    flow.at = None
    return advance(ctx, scope, flow)


@router.on_card(PLACE)
def choose_place(message: Any, ctx: Context) -> Reply | None:
    choice = PLACE.unpack(message.event_key).choice
    found = _tap(message, ctx, PLACE, "place", "已选择")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    if choice == "online":
        flow.online, flow.place = True, "线上"
    elif choice == "offline":
        flow.online = False
    flow.place_done = True
    return advance(ctx, scope, flow)


@router.on_card(NOTE)
def skip_note(message: Any, ctx: Context) -> Reply | None:
    found = _tap(message, ctx, NOTE, "note", "已跳过")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    flow.note_done = True
    return advance(ctx, scope, flow)


@router.on_card(CONFIRM)
def confirm_record(message: Any, ctx: Context) -> Reply | None:
    choice = CONFIRM.unpack(message.event_key).choice
    found = _tap(message, ctx, CONFIRM, "confirm", "已保存" if choice == "save" else "已取消")
    if isinstance(found, Reply):
        return found
    scope, flow = found
    if choice != "save":
        ctx.conversation.clear(FLOW)
        return Reply.text("已取消，没有保存任何内容。")
    flow.quick = True
    return advance(ctx, scope, flow)


@router.on_command("取消", "退出")
def cancel_flow(message: Any, ctx: Context) -> Reply:
    state = ctx.conversation
    loaded = state.load(FLOW, now=ctx.now)
    state.clear(FLOW)
    if loaded is None or loaded.expired:
        return Reply.text("当前没有进行中的操作。")
    return Reply.text("已取消，没有保存任何内容。")


def continue_flow(message: Any, ctx: Context) -> Reply | None:
    """Text that is not a command: the answer to the flow's question, if a flow is open.

    Returns None when no flow (not even an expired one) is waiting for this person.
    """
    state = ctx.conversation
    loaded = state.load(FLOW, now=ctx.now)
    if loaded is None:
        return None
    if loaded.expired:
        state.clear(FLOW)
        return Reply.text(EXPIRED)
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        state.clear(FLOW)
        return scope
    flow = loaded.value
    text = message.content.strip()
    answer = TEXT_ANSWERS.get(flow.step)
    if answer is None:
        return Reply.text("请点击卡片上的按钮继续，或发送“取消”退出。")
    return answer(ctx, scope, flow, text)


def answer_title(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    flow.title = text[:200]
    return advance(ctx, scope, flow)


def answer_month(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    today = ctx.local_now.date()
    word = text.replace(" ", "")
    last_of_previous = today.replace(day=1) - timedelta(days=1)
    if word in THIS_MONTH_WORDS:
        return _set_month(ctx, scope, flow, today)
    if word in LAST_MONTH_WORDS:
        return _set_month(ctx, scope, flow, last_of_previous)
    number = word.removesuffix("份").removesuffix("月")
    month = parse_whole(number, 1, 12)
    if month is None:
        return Reply.text("没有看懂这个月份。可以点击卡片上的按钮，或发送：本月、上月、11月")
    if month == today.month:
        return _set_month(ctx, scope, flow, today)
    year = today.year if month < today.month else today.year - 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return _set_month(ctx, scope, flow, following - timedelta(days=1))


def answer_students(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    match = match_name(text, scope.students)
    if match.outcome == Outcome.FOUND:
        found = [match.student]
    else:
        found = list(match.candidates) or search(text, scope.students)
    if not found:
        return Reply.text(f"在您本学年的学生中没有找到“{echo(text)}”。请换个写法，或在卡片中勾选。")
    if len(found) == 1 and flow.kind == RecordKind.CARE:
        flow.student_ids = [found[0].id]
    elif len(found) == 1:
        flow.student_ids = list(dict.fromkeys([*flow.student_ids, found[0].id]))
    flow.candidate_ids = [student.id for student in found]
    flow.problems = (
        [] if len(found) == 1 else [f"“{echo(text)}”可能是：" + "、".join(s.name for s in found)]
    )
    flow.page = 0
    return ask_students(ctx, scope, flow)


def answer_time(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    words = text.split()
    try:
        when = parse_when(words[0], ctx.local_now.date(), scope.year.starts_on, scope.year.ends_on)
        if when is not None and len(words) > 1 and when.at is None:
            at = parse_time(words[1])
            when = When(when.day, at) if at else when
        if when is None:
            return Reply.text(
                "没有看懂这个时间。可以发送：今天、昨天、周三、11月20日、11月20日 19:00"
            )
        moment = when.moment(ctx.zone, ctx.now)
        check_moment(moment, ctx.now, scope.year.starts_on, scope.year.ends_on)
    except DateError as exc:
        return Reply.text(str(exc))
    flow.day = when.day.isoformat()
    flow.at = when.at.strftime("%H:%M") if when.at else None
    return advance(ctx, scope, flow)


def answer_place(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    flow.online = ONLINE_WORDS.get(text, False)
    flow.place = text[:200]
    flow.place_done = True
    return advance(ctx, scope, flow)


def answer_note(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    keep_note(ctx, flow, text)
    flow.note_done = True
    return advance(ctx, scope, flow)


def answer_confirm(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    if text in SAVE_WORDS:
        flow.quick = True
        return advance(ctx, scope, flow)
    return Reply.text("请点击卡片上的“保存”，或发送“确认”保存、“取消”放弃。")


def answer_who(ctx: Context, scope: Scope, flow: Flow, text: str) -> Reply | None:
    if text.startswith(COUNSELLOR_WORDS):
        flow.kind = RecordKind.COUNSELLOR_TALK.value
    elif text.startswith(LEADER_WORDS):
        flow.kind = RecordKind.LEADER_TALK.value
    else:
        return Reply.text("请点击卡片选择沟通对象：学生的辅导员，或学院院长/副院长。")
    return advance(ctx, scope, flow)


TEXT_ANSWERS = {
    "title": answer_title,
    "month": answer_month,
    "who": answer_who,
    "students": answer_students,
    "time": answer_time,
    "place": answer_place,
    "note": answer_note,
    "confirm": answer_confirm,
}


_MENU_KINDS = {
    MENU_CONTACT: RecordKind.CONTACT.value,
    MENU_ACTIVITY: RecordKind.GROUP_ACTIVITY.value,
    MENU_TALK: TALK,
    MENU_CARE: RecordKind.CARE.value,
}


@router.on_menu(*_MENU_KINDS)
@for_mentors
def start_from_menu(message: Any, ctx: Context, scope: Scope) -> Reply | None:
    ctx.conversation.clear(FLOW)
    return start_flow(ctx, scope, _MENU_KINDS[message.event_key])


@router.on_menu(MENU_OTHER)
@for_mentors
def pick_kind(message: Any, ctx: Context, scope: Scope) -> Reply | None:
    """菜单 记录 → 其他记录: a card of the other kinds; a tap starts that kind's flow."""
    return offer_kinds(ctx)


@router.on_card(START_RECORD)
def start_from_card(message: Any, ctx: Context) -> Reply | None:
    """A one-tap button (the kind picker, the weekly reminder's 记录个别交流): the same flow
    as the menu."""
    kind = START_RECORD.unpack(message.event_key).kind
    if kind not in FLOWS:
        return Reply.text("这个按钮已失效，请点击菜单“记录”。")
    scope = mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    ctx.conversation.clear(FLOW)
    return start_flow(ctx, scope, kind)
