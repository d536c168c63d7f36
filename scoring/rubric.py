"""The rubric as data: load a TOML file strictly (pydantic, unknown fields refused), then
check the rules that tie its numbers together. A broken rubric is refused with one clear
message per broken rule, naming the rule and the numbers."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic.dataclasses import dataclass

from scoring.evidence import RecordKind
from scoring.rubric_checks import check_rubric

DEFAULT_RUBRIC = "2021"

Role = Literal["college", "academy", "satisfaction", "bonus"]
Observer = Literal["college", "academy", "system"]
Rounding = Literal["half_up", "half_even", "down"]
_KINDS = frozenset(RecordKind)
Period = Literal["teaching_week", "month", "semester", "year"]
Credit = Literal["met", "partial"]
SCORED_ROLES = ("college", "academy")


def _exact_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("须为数字 (must be a number)")
    return value


Number = Annotated[Decimal, BeforeValidator(_exact_number)]
_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_CONFIG)
class Section:
    id: StrictStr
    title: StrictStr
    role: Role
    total: Number


@dataclass(frozen=True, config=_CONFIG)
class Group:
    id: StrictStr
    title: StrictStr
    sections: tuple[StrictStr, ...]
    total: Number


@dataclass(frozen=True, config=_CONFIG)
class Item:
    id: StrictStr
    section: StrictStr
    observer: Observer
    max: Number
    title: StrictStr
    description: StrictStr = ""


@dataclass(frozen=True, config=_CONFIG)
class Bonus:
    points: Number
    rule: Literal["any_once"] = "any_once"


@dataclass(frozen=True, config=_CONFIG)
class Level:
    level: StrictInt
    name: StrictStr


@dataclass(frozen=True, config=_CONFIG)
class Band:
    min: Number
    max: Number
    points: Number


@dataclass(frozen=True, config=_CONFIG)
class Satisfaction:
    item: StrictStr
    levels: tuple[Level, ...]
    positive: tuple[StrictInt, ...]
    bands: tuple[Band, ...]
    decimals: Annotated[StrictInt, Field(ge=0, le=6)] = 1
    rounding: Rounding = "half_up"
    no_ratings_points: Number = Decimal(0)
    anonymity_threshold: Annotated[StrictInt, Field(ge=1)] = 3

    @cached_property
    def level_set(self) -> frozenset[int]:
        return frozenset(level.level for level in self.levels)

    @cached_property
    def positive_set(self) -> frozenset[int]:
        return frozenset(self.positive)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


@dataclass(frozen=True, config=_CONFIG)
class Outstanding:
    share: Number
    rounding: Rounding = "half_up"
    minimum: Annotated[StrictInt, Field(ge=0)] = 1
    ties: Literal["include_and_flag"] = "include_and_flag"


@dataclass(frozen=True, config=_CONFIG)
class Requirement:
    label: StrictStr
    kinds: tuple[RecordKind, ...]
    per: Period
    target: Annotated[StrictInt, Field(ge=1)]
    credit: Credit = "partial"


@dataclass(frozen=True, config=_CONFIG)
class Records:
    """What a record evidences. ``kinds``: the items every record of a kind counts for;
    ``activities``: the regulation's activity types (words a group activity's title names)
    and the further items each counts for; a title naming none is ``other_activity``;
    ``topics``: words a contact's content names (career guidance…) and the further items
    such a contact counts for; ``offline_only``: items a record marked 线上 never counts for;
    ``alone``: types whose records count only for the items their word names, not for the
    kind's own (a paper recorded as an activity is no 线下集体活动)."""

    kinds: dict[RecordKind, tuple[StrictStr, ...]]
    activities: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    other_activity: StrictStr = "其他"
    topics: dict[StrictStr, tuple[StrictStr, ...]] = Field(default_factory=dict)
    offline_only: tuple[StrictStr, ...] = ()
    alone: tuple[StrictStr, ...] = ()

    def words(self, kind: str) -> Mapping[str, tuple[str, ...]]:
        """The type words of ``kind``'s records: activity types or contact topics (none for
        other kinds)."""
        if kind == RecordKind.GROUP_ACTIVITY:
            return self.activities
        if kind == RecordKind.CONTACT:
            return self.topics
        return {}


@dataclass(frozen=True, config=_CONFIG)
class Periods:
    """When a calendar period counts toward a target: a teaching week only with at least
    ``week_teaching_days`` working days (public holidays off, make-up days on), a month only
    with at least ``month_teaching_days`` teaching days (working days in teaching weeks).
    0 (a rubric without ``[periods]``): every teaching week, every month of a semester."""

    week_teaching_days: Annotated[StrictInt, Field(ge=0, le=7)] = 0
    month_teaching_days: Annotated[StrictInt, Field(ge=0, le=31)] = 0


@dataclass(frozen=True, config=_CONFIG)
class Rubric:
    name: StrictStr
    total: Number
    maximum: Number
    sections: tuple[Section, ...]
    items: tuple[Item, ...]
    bonus: Bonus
    satisfaction: Satisfaction
    outstanding: Outstanding
    records: Records
    groups: tuple[Group, ...] = ()
    evidence: dict[StrictStr, tuple[Requirement, ...]] = Field(default_factory=dict)
    periods: Periods = Field(default_factory=Periods)
    source: StrictStr = ""
    score_decimals: Annotated[StrictInt, Field(ge=0, le=6)] = 1

    @cached_property
    def item_by_id(self) -> Mapping[str, Item]:
        return {item.id: item for item in self.items}

    @cached_property
    def section_by_id(self) -> Mapping[str, Section]:
        return {section.id: section for section in self.sections}

    def role_of(self, item_id: str) -> Role:
        return self.section_by_id[self.item_by_id[item_id].section].role

    @cached_property
    def scored_items(self) -> tuple[Item, ...]:
        """The items people score (B, M, A): all needed for a complete result."""
        return tuple(i for i in self.items if self.role_of(i.id) in SCORED_ROLES)

    @cached_property
    def bonus_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if self.role_of(i.id) == "bonus")

    def items_for(
        self, kind: str, activity: str | None = None, online: bool | None = None
    ) -> tuple[str, ...]:
        """The items a record of ``kind`` evidences, in rubric order; none for a kind the rubric
        does not count. ``activity``: the type its text named (a group activity's type, a
        contact's topic; stored in another rubric's words it counts as the longest of this
        rubric's words it contains); ``online``: marked 线上, which drops the offline-only items.
        The one answer to "what does this record count for": evidence, confirmations, lists."""
        key = (str(kind), activity, bool(online))  # a database's 1 / 0 too
        found = self._items_of.get(key)
        if found is None:
            wanted = set(self.records.kinds.get(RecordKind(kind), ())) if kind in _KINDS else set()
            if activity is not None:  # a word of this rubric, or one naming such a word
                words = self.records.words(kind)
                word = activity if activity in words else self._word_in(activity, kind)
                if word in self.records.alone:
                    wanted.clear()
                wanted.update(words.get(word or "", ()))
            if online:
                wanted.difference_update(self.records.offline_only)
            found = self._items_of[key] = tuple(i.id for i in self.items if i.id in wanted)
        return found

    def record_type(self, kind: str, text: str) -> str | None:
        """What a record's text names, kept with the record: a group activity's type (the
        longest matching word, else ``records.other_activity``), a contact's topic (None when
        it names none); None for other kinds."""
        if kind == RecordKind.GROUP_ACTIVITY:
            return self.activity_type(text)
        if kind == RecordKind.CONTACT:
            return self._word_in(text, kind)
        return None

    def activity_type(self, title: str) -> str:
        """The activity type ``title`` names (the longest matching word, so that 读书分享会
        is 读书分享, not 分享会), else ``records.other_activity``."""
        return self._word_in(title, RecordKind.GROUP_ACTIVITY) or self.records.other_activity

    def _word_in(self, text: str, kind: str) -> str | None:
        for word in self._words_by_length.get(str(kind), ()):
            if word in text:
                return word
        return None

    @cached_property
    def _words_by_length(self) -> dict[str, tuple[str, ...]]:
        return {
            str(kind): tuple(sorted(self.records.words(kind), key=len, reverse=True))
            for kind in (RecordKind.GROUP_ACTIVITY, RecordKind.CONTACT)
        }

    @cached_property
    def _items_of(self) -> dict[tuple[str, str | None], tuple[str, ...]]:
        return {}


class RubricError(ValueError):
    """A rubric that breaks a rule; ``problems`` holds one message per broken rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_ADAPTER = TypeAdapter(Rubric)


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The rubric in ``path`` (TOML), or the packaged default; RubricError if it breaks a rule."""
    if path is None:
        text = (
            resources.files("scoring")
            .joinpath(f"rubrics/{DEFAULT_RUBRIC}.toml")
            .read_text(encoding="utf-8")
        )
        return parse_rubric(text)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError([f"无法读取考核方案文件 {path}：{exc}"]) from exc
    return parse_rubric(text)


def parse_rubric(text: str) -> Rubric:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError([f"考核方案不是合法的 TOML：{exc}"]) from exc
    return rubric_from_dict(data)


def rubric_from_dict(data: Mapping[str, Any]) -> Rubric:
    try:
        rubric = _ADAPTER.validate_python(dict(data))
    except PydanticValidationError as exc:
        raise RubricError([_pydantic_message(error) for error in exc.errors()]) from None
    problems = check_rubric(rubric)
    if problems:
        raise RubricError(problems)
    return rubric


def _pydantic_message(error: Mapping[str, Any]) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    where = where.lstrip(".") or "(根)"
    kind = error["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"考核方案字段 {where}：未知字段，不允许 (unknown field)"
    if kind == "missing":
        return f"考核方案字段 {where}：缺少必填字段 (missing)"
    return f"考核方案字段 {where}：{error['msg']}"
