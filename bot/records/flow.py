"""A record being put together one step at a time: what each kind asks (``FLOWS``), the
flow's state (kept in Redis through ``bot.chat.state``) and which step comes next. No clock,
no I/O. The questions are in ``bot.records.questions``, the answers in ``bot.records.answers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.chat.router import CardKey
from bot.chat.state import StateKey
from bot.core.models import RECORD_KIND_NAMES, RecordKind
from bot.records.care import seal
from bot.records.names import Student

FLOW_TTL = timedelta(minutes=30)
# A button that starts a guided flow of one kind (e.g. on the weekly contact reminder).


@dataclass(frozen=True)
class StartTap:
    kind: str


START_RECORD = CardKey("rec_start", StartTap)
TALK = "talk"  # a talk whose counterpart is not chosen yet


@dataclass(frozen=True)
class Choice:
    """A button that answers the title step (e.g. the kind of academy activity)."""

    value: str
    text: str


@dataclass(frozen=True)
class FlowSpec:
    """The questions a guided flow of one kind asks, in order, and how it asks them.

    ``title`` is what the ``title`` step asks for (named ``title_label`` on the confirm card);
    ``choices`` answer it with a tap; ``note_prompt`` is the ``note`` step's question;
    ``upload`` says the kind's document can be uploaded instead (the in-app upload page).
    """

    steps: tuple[str, ...]
    title_prompt: str = ""
    title_label: str = "名称"
    choices: tuple[Choice, ...] = ()
    note_prompt: str = "请发送一句话说明内容，如 聊选课；也可以跳过"
    upload: bool = False


_TALK_STEPS = ("time", "place", "note", "confirm")
ACADEMY_CHOICES = (Choice("booking", "预约书院空间"), Choice("community", "参加书院社区活动"))

FLOWS: dict[str, FlowSpec] = {
    RecordKind.CONTACT: FlowSpec(("students", "time", "place", "note", "confirm")),
    RecordKind.GROUP_ACTIVITY: FlowSpec(
        ("title", "students", "time", "place", "note", "confirm"),
        title_prompt="请发送活动名称，例如：读书沙龙、观影、考研经验分享会。",
    ),
    RecordKind.COUNSELLOR_TALK: FlowSpec(_TALK_STEPS),
    RecordKind.LEADER_TALK: FlowSpec(_TALK_STEPS),
    RecordKind.CARE: FlowSpec(("students", "time", "note", "confirm")),
    TALK: FlowSpec(("who", *_TALK_STEPS)),
    RecordKind.SEMESTER_PLAN: FlowSpec(
        ("title", "confirm"),
        title_prompt="请发送本学期工作计划的要点，例如：每月一次读书沙龙、两周一次个别交流。",
        title_label="要点",
        upload=True,
    ),
    RecordKind.MONTHLY_PLAN: FlowSpec(
        ("month", "title", "confirm"),
        title_prompt="请发送这个月计划的要点，例如：两次个别交流、一次观影。",
        title_label="要点",
        upload=True,
    ),
    RecordKind.MONTHLY_SUMMARY: FlowSpec(
        ("month", "title", "confirm"),
        title_prompt="请发送这个月总结的要点，例如：完成读书沙龙一次、个别交流六次。",
        title_label="要点",
        upload=True,
    ),
    RecordKind.PUBLICITY: FlowSpec(
        ("title", "note", "confirm"),
        title_prompt="请发送提供给学院的宣传素材标题，例如：读书沙龙活动推文素材。",
        title_label="素材",
        note_prompt="可以发送补充说明或素材链接；也可以跳过",
    ),
    RecordKind.ACADEMY_BOOKING: FlowSpec(
        ("title", "time", "place", "students", "confirm"),
        title_prompt="请选择类型，或直接发送内容，例如：预约书院研讨室。",
        title_label="类型",
        choices=ACADEMY_CHOICES,
    ),
    RecordKind.EXTERNAL_RESOURCE: FlowSpec(
        ("title", "note", "confirm"),
        title_prompt="请发送引入的校外资源，例如：邀请某公司工程师来校交流。",
        title_label="资源",
        note_prompt="可以发送补充说明（合作单位、用途、学生参与情况等）；也可以跳过",
    ),
}
# Any other kind (monthly guidance is not recorded by mentors through a flow).
OTHER_SPEC = FlowSpec(("time", "confirm"))
# Kinds whose records carry students; participants are optional for academy activities.
NEEDS_STUDENTS = {
    RecordKind.CONTACT,
    RecordKind.GROUP_ACTIVITY,
    RecordKind.CARE,
    RecordKind.ACADEMY_BOOKING,
}
OPTIONAL_STUDENTS = {RecordKind.ACADEMY_BOOKING}
# The kinds the 其他记录 picker offers (at most 6: a button card's limit), in its order.
PICKER_KINDS: tuple[RecordKind, ...] = (
    RecordKind.SEMESTER_PLAN,
    RecordKind.MONTHLY_PLAN,
    RecordKind.MONTHLY_SUMMARY,
    RecordKind.PUBLICITY,
    RecordKind.ACADEMY_BOOKING,
    RecordKind.EXTERNAL_RESOURCE,
)
PICKER_NAMES: dict[RecordKind, str] = {
    RecordKind.SEMESTER_PLAN: "学期计划",
    RecordKind.MONTHLY_PLAN: "月度计划",
    RecordKind.MONTHLY_SUMMARY: "月度总结",
    RecordKind.PUBLICITY: "宣传素材",
    RecordKind.ACADEMY_BOOKING: "书院空间/活动",
    RecordKind.EXTERNAL_RESOURCE: "校外资源",
}
ONLINE_PLACE = "线上"


@dataclass(frozen=True)
class Flow:
    """A record being put together, one step at a time (a new value for every answer)."""

    flow_id: str
    kind: str
    student_ids: tuple[int, ...] = ()
    shown_ids: tuple[int, ...] = ()
    page: int = 0
    day: str | None = None
    at: str | None = None
    # a past day was given without a time: the time step asks the hour before it is done
    # (never a silent noon)
    needs_hour: bool = False
    place: str | None = None
    online: bool | None = None
    place_done: bool = False
    note: str | None = None  # never a care note: that one is only kept sealed
    sealed_note: str | None = None  # a care note encrypted with CARE_NOTES_KEY (care.seal)
    note_done: bool = False
    title: str = ""
    quick: bool = False
    problems: tuple[str, ...] = ()
    candidate_ids: tuple[int, ...] = ()
    media_ids: tuple[str, ...] = ()
    step: str = ""
    students_done: bool = False
    # The student card is open again (a page turned, a name typed, a choice refused): it is
    # asked until it is submitted, even when the students chosen so far would do.
    picking: bool = False

    def __post_init__(self) -> None:
        # Redis gives back lists (JSON); a flow holds tuples so it stays immutable.
        for name in ("student_ids", "shown_ids", "problems", "candidate_ids", "media_ids"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass
class LastRecord:
    """The record a photo sent soon afterwards attaches to."""

    record_id: int


@dataclass(frozen=True)
class Situation:
    """What a flow's questions and answers need from outside: the clock, the mentor's academic
    year and students, where the upload page is, and the key care notes are sealed with."""

    now: datetime
    zone: ZoneInfo
    year_starts: date
    year_ends: date
    students: tuple[Student, ...]
    base_url: str = ""
    care_key: str = field(default="", repr=False)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def names(self, ids: Iterable[int]) -> list[str]:
        by_id = {student.id: student.name for student in self.students}
        return [by_id[sid] for sid in ids if sid in by_id]


FLOW = StateKey("record_flow", Flow, FLOW_TTL)
LAST_RECORD = StateKey("last_record", LastRecord, timedelta(minutes=30))


def next_step(flow: Flow) -> str:
    """The first step of the flow's kind not done yet; ``save`` when none is left."""
    optional = flow.kind in OPTIONAL_STUDENTS and flow.students_done
    done = {
        "who": flow.kind != TALK,
        "title": bool(flow.title),
        "students": (bool(flow.student_ids) or optional) and not flow.problems and not flow.picking,
        "time": flow.day is not None and not flow.needs_hour,
        "month": flow.day is not None,
        "place": flow.place_done,
        "note": flow.note_done,
        "confirm": flow.quick,
    }
    for step in spec_for(flow).steps:
        if not done[step]:
            return step
    return "save"


def new_flow(kind: str, **fields: Any) -> Flow:
    """A flow of ``kind`` with a fresh id (the id ties a card's buttons to this flow)."""
    return Flow(flow_id=uuid.uuid4().hex[:12], kind=kind, **fields)


def with_note(flow: Flow, text: str | None, care_key: str) -> Flow:
    """The flow holding ``text`` as its note; a care note only sealed, since the flow is kept
    in Redis (for up to a day after it expires) and Redis is neither encrypted nor audited."""
    if text is not None and flow.kind == RecordKind.CARE:
        return replace(flow, note=None, sealed_note=seal(care_key, text))
    return replace(flow, note=text, sealed_note=None)


def with_photo(flow: Flow, media_id: str) -> Flow:
    """The flow with one more evidence photo (the last nine are kept)."""
    return replace(flow, media_ids=(*flow.media_ids, media_id)[-9:])


def spec_for(flow: Flow) -> FlowSpec:
    return FLOWS.get(flow.kind, OTHER_SPEC)


def kind_name(flow: Flow) -> str:
    if flow.kind == TALK:
        return "沟通记录"
    return RECORD_KIND_NAMES[RecordKind(flow.kind)]


def place_text(flow: Flow) -> str:
    if flow.online:
        return f"线上（{flow.place}）" if flow.place and flow.place != ONLINE_PLACE else "线上"
    if flow.place:
        return flow.place
    return "线下" if flow.online is False else "未填写"
