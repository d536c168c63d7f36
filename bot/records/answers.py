"""The answers a guided record flow takes, and the pure state machine that takes them:
``step(flow, answer, situation)`` gives the next flow or a ``Refusal`` to say instead;
``read_text(flow, text, situation)`` turns what the mentor typed into the answer to the
question the flow asked (or a refusal). A tap is turned into an answer by the handler."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time

from bot.core.echo import echo
from bot.core.inputs import parse_whole
from bot.core.models import RecordKind
from bot.records.dates import (
    DateError,
    When,
    check_moment,
    check_time,
    parse_time,
    parse_when,
)
from bot.records.flow import OPTIONAL_STUDENTS, Flow, Situation, spec_for, with_note
from bot.records.names import Outcome, Student, match_name, search
from bot.records.questions import last_month_end
from bot.records.quick import COUNSELLOR_WORDS, LEADER_WORDS, ONLINE_WORDS

ONE_CARE_STUDENT = "一条关爱记录只记一位学生，请只勾选一位。"
AT_LEAST_ONE = "请至少勾选一位学生。"
DEAD_BUTTON = "这个按钮已失效，请发送“取消”后重新开始。"
USED_CARD = "这张卡片已经处理过了，请使用最新的卡片，或发送“取消”重新开始。"
TAP_TO_GO_ON = "请点击卡片上的按钮继续，或发送“取消”退出。"
SAVE_WORDS = {"确认", "保存", "确定", "好", "是", "对"}
THIS_MONTH_WORDS = {"本月", "这个月", "当月"}
LAST_MONTH_WORDS = {"上月", "上个月"}


@dataclass(frozen=True)
class Refusal:
    """What to say instead of moving on. With ``flow``, keep that flow and ask its question
    again after ``text``; with ``ends``, the flow is over (nothing was saved)."""

    text: str
    flow: Flow | None = None
    ends: bool = False


# -- answers, one per question ----------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """Whom a talk was with."""

    kind: RecordKind


@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class TitleChoice:
    """A tap on one of the kind's title choices (``FlowSpec.choices``)."""

    value: str


@dataclass(frozen=True)
class Month:
    """The month a plan or summary is for: a day of it (today for this month, else its last)."""

    day: date


@dataclass(frozen=True)
class MonthTap:
    last: bool  # 上月; else 本月


@dataclass(frozen=True)
class Picked:
    """The student card submitted: the ids ticked on the page shown, and 下一页."""

    ids: tuple[int, ...]
    more: bool = False


@dataclass(frozen=True)
class Named:
    """A name typed at the student card, and the students it may mean (one or more)."""

    query: str
    found: tuple[Student, ...]


@dataclass(frozen=True)
class Day:
    day: date
    at: time | None = None


@dataclass(frozen=True)
class Hour:
    """The time of day, for a day already given without one."""

    at: time


@dataclass(frozen=True)
class Place:
    """``online`` and ``place`` when given; neither: the step is skipped."""

    online: bool | None = None
    place: str | None = None


@dataclass(frozen=True)
class Note:
    text: str  # a care note is sealed before it is kept (``flow.with_note``)


@dataclass(frozen=True)
class SkipNote:
    pass


@dataclass(frozen=True)
class Save:
    pass


Answer = (
    Who
    | Title
    | TitleChoice
    | Month
    | MonthTap
    | Picked
    | Named
    | Day
    | Hour
    | Place
    | Note
    | SkipNote
) | Save

_STEP_OF: dict[type, str] = {
    Who: "who",
    Title: "title",
    TitleChoice: "title",
    Month: "month",
    MonthTap: "month",
    Picked: "students",
    Named: "students",
    Day: "time",
    Hour: "time",
    Place: "place",
    Note: "note",
    SkipNote: "note",
    Save: "confirm",
}


# -- the state machine ------------------------------------------------------------------


def step(flow: Flow, answer: Answer, situation: Situation) -> Flow | Refusal:
    """The flow once ``answer`` is taken, or why it cannot be."""
    if _STEP_OF[type(answer)] != flow.step:
        return Refusal(USED_CARD)
    match answer:
        case Who(kind):
            return replace(flow, kind=kind.value)
        case Title(text):
            return replace(flow, title=text)
        case TitleChoice(value):
            chosen = next((c for c in spec_for(flow).choices if c.value == value), None)
            return Refusal(DEAD_BUTTON) if chosen is None else replace(flow, title=chosen.text)
        case MonthTap(last):
            today = situation.today
            return _month(flow, last_month_end(today) if last else today, situation)
        case Month(day):
            return _month(flow, day, situation)
        case Picked():
            return _picked(flow, answer, situation)
        case Named():
            return _named(flow, answer)
        case Day(day, at):
            return _day(flow, day, at, situation)
        case Hour(at):
            if flow.day is None:
                return Refusal(USED_CARD)
            return _day(flow, date.fromisoformat(flow.day), at, situation)
        case Place(online, place):
            if online is not None:
                flow = replace(flow, online=online)
            if place is not None:
                flow = replace(flow, place=place)
            return replace(flow, place_done=True)
        case Note(text):
            return replace(with_note(flow, text, situation.care_key), note_done=True)
        case SkipNote():
            return replace(flow, note_done=True)
        case Save():
            return replace(flow, quick=True)
    raise TypeError(f"not an answer: {answer!r}")


def _day(flow: Flow, day: date, at: time | None, situation: Situation) -> Flow | Refusal:
    """The day (and time) taken; a past day without a time asks the hour next. Today
    without a time is now (shown on the confirm card)."""
    if at is not None:
        try:
            when = datetime.combine(day, at, tzinfo=situation.zone)
            check_moment(when, situation.now, situation.year_starts, situation.year_ends)
        except DateError as exc:
            return Refusal(str(exc), flow)
    needs = at is None and day != situation.today
    return replace(
        flow, day=day.isoformat(), at=at.strftime("%H:%M") if at else None, needs_hour=needs
    )


def _month(flow: Flow, day: date, situation: Situation) -> Flow | Refusal:
    moment = When(day).moment(situation.zone, situation.now)
    try:
        check_moment(moment, situation.now, situation.year_starts, situation.year_ends)
    except DateError as exc:
        return Refusal(str(exc))
    return replace(flow, day=day.isoformat(), at=None)


def _picked(flow: Flow, answer: Picked, situation: Situation) -> Flow | Refusal:
    own = {student.id for student in situation.students}
    chosen = sorted({sid for sid in answer.ids if sid in own})
    kept = [sid for sid in flow.student_ids if sid not in flow.shown_ids]
    flow = replace(flow, student_ids=tuple(dict.fromkeys(kept + chosen)))
    if flow.kind == RecordKind.CARE and len(flow.student_ids) > 1:
        return Refusal(ONE_CARE_STUDENT, replace(flow, student_ids=(), picking=True))
    if answer.more:
        return replace(flow, page=flow.page + 1, picking=True)
    if not flow.student_ids and flow.kind not in OPTIONAL_STUDENTS:
        return Refusal(AT_LEAST_ONE, replace(flow, picking=True))
    return replace(flow, students_done=True, problems=(), candidate_ids=(), page=0, picking=False)


def _named(flow: Flow, answer: Named) -> Flow:
    found = answer.found
    if len(found) == 1 and flow.kind == RecordKind.CARE:
        flow = replace(flow, student_ids=(found[0].id,))
    elif len(found) == 1:
        flow = replace(flow, student_ids=tuple(dict.fromkeys([*flow.student_ids, found[0].id])))
    problems = (
        ()
        if len(found) == 1
        else (f"“{echo(answer.query)}”可能是：" + "、".join(s.name for s in found),)
    )
    return replace(
        flow,
        candidate_ids=tuple(student.id for student in found),
        problems=problems,
        page=0,
        picking=True,
    )


# -- text into answers ------------------------------------------------------------------


def read_text(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    """What the mentor typed (stripped), as the answer to the flow's current question."""
    reader = _READERS.get(flow.step)
    if reader is None:
        return Refusal(TAP_TO_GO_ON)
    return reader(flow, text, situation)


def _read_who(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    if text.startswith(COUNSELLOR_WORDS):
        return Who(RecordKind.COUNSELLOR_TALK)
    if text.startswith(LEADER_WORDS):
        return Who(RecordKind.LEADER_TALK)
    return Refusal("请点击卡片选择沟通对象：学生的辅导员，或学院院长/副院长。")


def _read_title(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    return Title(text[:200])


def _read_month(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    today = situation.today
    word = text.replace(" ", "")
    if word in THIS_MONTH_WORDS:
        return Month(today)
    if word in LAST_MONTH_WORDS:
        return Month(last_month_end(today))
    month = parse_whole(word.removesuffix("份").removesuffix("月"), 1, 12)
    if month is None:
        return Refusal("没有看懂这个月份。可以点击卡片上的按钮，或发送：本月、上月、11月")
    if month == today.month:
        return Month(today)
    year = today.year if month < today.month else today.year - 1
    return Month(last_month_end(date(year + (month == 12), month % 12 + 1, 1)))


def _read_students(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    match = match_name(text, situation.students)
    if match.outcome == Outcome.FOUND:
        found = [match.student]
    else:
        found = list(match.candidates) or search(text, list(situation.students))
    if not found:
        return Refusal(f"在您本学年的学生中没有找到“{echo(text)}”。请换个写法，或在卡片中勾选。")
    return Named(text, tuple(found))


def _read_time(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    if flow.needs_hour:  # the day is given: a time alone answers, a new date also does
        try:
            check_time(text)
        except DateError as exc:
            return Refusal(str(exc))
        at = parse_time(text.replace(" ", ""))
        if at is not None:
            return Hour(at)
    words = text.split()
    start, end = situation.year_starts, situation.year_ends
    try:
        when = parse_when(words[0], situation.today, start, end) if words else None
        if when is not None and len(words) > 1 and when.at is None:
            at = parse_time(words[1])
            when = When(when.day, at) if at else when
        if when is None:
            return Refusal("没有看懂这个时间。可以发送：今天、昨天、周三、11月20日、11月20日 19:00")
        moment = when.moment(situation.zone, situation.now)
        check_moment(moment, situation.now, start, end)
    except DateError as exc:
        return Refusal(str(exc))
    return Day(when.day, when.at)


def _read_place(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    return Place(ONLINE_WORDS.get(text, False), text[:200])


def _read_note(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    return Note(text)


def _read_confirm(flow: Flow, text: str, situation: Situation) -> Answer | Refusal:
    if text in SAVE_WORDS:
        return Save()
    return Refusal("请点击卡片上的“保存”，或发送“确认”保存、“取消”放弃。")


_READERS = {
    "title": _read_title,
    "month": _read_month,
    "who": _read_who,
    "students": _read_students,
    "time": _read_time,
    "place": _read_place,
    "note": _read_note,
    "confirm": _read_confirm,
}
