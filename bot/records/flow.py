"""A record being put together one step at a time: its state (kept in Redis through
``bot.state``) and which question comes next. Pure: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.models import RECORD_KIND_NAMES, RecordKind
from bot.router import CardKey
from bot.state import StateKey

FLOW_TTL = timedelta(minutes=30)
# A button that starts a guided flow of one kind (e.g. on the weekly contact reminder).
START_RECORD: CardKey[str] = CardKey("rec_start", ("kind",))
TALK = "talk"  # a talk whose counterpart is not chosen yet

STEPS: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: ("students", "time", "place", "note", "confirm"),
    RecordKind.GROUP_ACTIVITY: ("title", "students", "time", "place", "note", "confirm"),
    RecordKind.COUNSELLOR_TALK: ("time", "place", "note", "confirm"),
    RecordKind.LEADER_TALK: ("time", "place", "note", "confirm"),
    RecordKind.CARE: ("students", "time", "note", "confirm"),
    TALK: ("who", "time", "place", "note", "confirm"),
}
OTHER_STEPS = ("time", "confirm")
NEEDS_STUDENTS = {RecordKind.CONTACT, RecordKind.GROUP_ACTIVITY, RecordKind.CARE}
ONLINE_PLACE = "线上"


@dataclass
class Flow:
    """A record being put together, one step at a time."""

    flow_id: str
    kind: str
    student_ids: list[int] = field(default_factory=list)
    shown_ids: list[int] = field(default_factory=list)
    page: int = 0
    day: str | None = None
    at: str | None = None
    place: str | None = None
    online: bool | None = None
    place_done: bool = False
    note: str | None = None
    note_done: bool = False
    title: str = ""
    activity_type: str | None = None
    quick: bool = False
    problems: list[str] = field(default_factory=list)
    candidate_ids: list[int] = field(default_factory=list)
    media_ids: list[str] = field(default_factory=list)
    step: str = ""


@dataclass
class LastRecord:
    """The record a photo sent soon afterwards attaches to."""

    record_id: int


FLOW = StateKey("record_flow", Flow, FLOW_TTL)
LAST_RECORD = StateKey("last_record", LastRecord, timedelta(minutes=30))


def next_step(flow: Flow) -> str:
    """The first step of the flow's kind not done yet; ``save`` when none is left."""
    done = {
        "who": flow.kind != TALK,
        "title": bool(flow.title),
        "students": bool(flow.student_ids) and not flow.problems,
        "time": flow.day is not None,
        "place": flow.place_done,
        "note": flow.note_done,
        "confirm": flow.quick,
    }
    for step in STEPS.get(flow.kind, OTHER_STEPS):
        if not done[step]:
            return step
    return "save"


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
