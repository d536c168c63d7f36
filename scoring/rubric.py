"""The rubric as data: load a TOML file strictly (pydantic, unknown fields refused), then
check the rules that tie its numbers together. A broken rubric is refused with one clear
message per broken rule, naming the rule and the numbers."""

from __future__ import annotations

import itertools
import tomllib
from collections import Counter
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
from scoring.numbers import fmt, has_decimals

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


def check_rubric(rubric: Rubric) -> list[str]:
    """Every rule the numbers of a rubric must obey; one message per broken rule."""
    problems: list[str] = []
    problems += _check_ids(rubric)
    if problems:
        return problems
    problems += _check_sums(rubric)
    problems += _check_bonus(rubric)
    problems += _check_satisfaction(rubric)
    problems += _check_outstanding(rubric)
    problems += _check_records(rubric)
    problems += _check_evidence(rubric)
    return problems


def _duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _check_ids(rubric: Rubric) -> list[str]:
    problems = []
    for what, ids in (
        ("考核项", [i.id for i in rubric.items]),
        ("小节", [s.id for s in rubric.sections]),
        ("汇总", [g.id for g in rubric.groups]),
    ):
        for dup in _duplicates(ids):
            problems.append(f"规则：编号唯一 — {what}编号 {dup} 出现 {ids.count(dup)} 次")
    sections = {s.id for s in rubric.sections}
    for item in rubric.items:
        if item.section not in sections:
            problems.append(
                f"规则：考核项须属于已定义的小节 — {item.id} 的小节 {item.section} 未定义"
            )
    for group in rubric.groups:
        for section_id in group.sections:
            if section_id not in sections:
                problems.append(f"规则：汇总只含已定义的小节 — {group.id} 含未定义的 {section_id}")
    return problems


def _check_sums(rubric: Rubric) -> list[str]:
    problems = []
    for item in rubric.items:
        if item.max <= 0 or not has_decimals(item.max, rubric.score_decimals):
            problems.append(
                f"规则：满分须为正数且至多 {rubric.score_decimals} 位小数 — "
                f"{item.id} 满分 {fmt(item.max)}"
            )
    for section in rubric.sections:
        members = [i for i in rubric.items if i.section == section.id]
        if not members:
            problems.append(f"规则：每个小节至少一个考核项 — 小节 {section.id} 为空")
            continue
        if section.role == "bonus":
            continue
        got = sum((i.max for i in members), Decimal(0))
        if got != section.total:
            terms = " + ".join(f"{i.id} {fmt(i.max)}" for i in members)
            problems.append(
                f"规则：各项满分之和须等于小节总分 — 小节 {section.id}（{section.title}）"
                f"{terms} = {fmt(got)}，规定总分 {fmt(section.total)}"
            )
    for group in rubric.groups:
        got = sum((rubric.section_by_id[s].total for s in group.sections), Decimal(0))
        if got != group.total:
            terms = " + ".join(f"{s} {fmt(rubric.section_by_id[s].total)}" for s in group.sections)
            problems.append(
                f"规则：小节总分之和须等于汇总总分 — {group.id}（{group.title}）"
                f"{terms} = {fmt(got)}，规定总分 {fmt(group.total)}"
            )
    base = sum((s.total for s in rubric.sections if s.role != "bonus"), Decimal(0))
    if base != rubric.total:
        problems.append(
            f"规则：非加分小节总分之和须等于总分 — 求和 {fmt(base)}，规定总分 {fmt(rubric.total)}"
        )
    if rubric.total + rubric.bonus.points != rubric.maximum:
        problems.append(
            f"规则：最高分 = 总分 + 加分 — {fmt(rubric.total)} + {fmt(rubric.bonus.points)} "
            f"= {fmt(rubric.total + rubric.bonus.points)}，规定最高分 {fmt(rubric.maximum)}"
        )
    return problems


def _check_bonus(rubric: Rubric) -> list[str]:
    problems = []
    for section in rubric.sections:
        if section.role == "bonus" and section.total != rubric.bonus.points:
            problems.append(
                f"规则：加分小节总分等于加分值 — 小节 {section.id} 总分 {fmt(section.total)}，"
                f"加分 {fmt(rubric.bonus.points)}"
            )
    for item in rubric.bonus_items:
        if item.max != rubric.bonus.points:
            problems.append(
                f"规则：加分项满分等于加分值 — {item.id} 满分 {fmt(item.max)}，"
                f"加分 {fmt(rubric.bonus.points)}"
            )
    return problems


def _check_satisfaction(rubric: Rubric) -> list[str]:
    problems = []
    sat = rubric.satisfaction
    item = rubric.item_by_id.get(sat.item)
    if item is None or rubric.role_of(sat.item) != "satisfaction":
        problems.append(f"规则：满意度项须是满意度小节中的考核项 — {sat.item}")
    satisfaction_items = [i.id for i in rubric.items if rubric.role_of(i.id) == "satisfaction"]
    if satisfaction_items != [sat.item]:
        problems.append(
            f"规则：满意度小节只含满意度项 {sat.item} — 现有 {', '.join(satisfaction_items)}"
        )
    levels = [level.level for level in sat.levels]
    for dup in _duplicates([str(level) for level in levels]):
        problems.append(f"规则：满意度等级唯一 — 等级 {dup} 重复")
    for level in sat.positive:
        if level not in levels:
            problems.append(f"规则：“满意”等级须是已定义的等级 — {level} 不在 {levels}")
    problems += _check_bands(sat)
    if item is not None and sat.bands:
        top = max(band.points for band in sat.bands)
        if top != item.max:
            problems.append(
                f"规则：最高档得分等于满意度项满分 — 最高档 {fmt(top)}，"
                f"{sat.item} 满分 {fmt(item.max)}"
            )
        if not Decimal(0) <= sat.no_ratings_points <= item.max:
            problems.append(
                f"规则：无评价得分在 0–{fmt(item.max)} 之间 — {fmt(sat.no_ratings_points)}"
            )
    return problems


def _check_bands(sat: Satisfaction) -> list[str]:
    """Bands highest first, each min ≤ max, touching at the rounding step, 0 to 100."""
    bands = sat.bands
    step = sat.step
    if not bands:
        return ["规则：满意度分档不能为空"]
    problems = []
    for band in bands:
        text = f"{fmt(band.min)}–{fmt(band.max)}"
        if band.min > band.max:
            problems.append(f"规则：分档下限不大于上限 — {text}")
        if not (has_decimals(band.min, sat.decimals) and has_decimals(band.max, sat.decimals)):
            problems.append(f"规则：分档界限至多 {sat.decimals} 位小数 — {text}")
    for upper, lower in itertools.pairwise(bands):
        above = f"{fmt(upper.min)}–{fmt(upper.max)}"
        below = f"{fmt(lower.min)}–{fmt(lower.max)}"
        if lower.max >= upper.min:
            problems.append(
                f"规则：分档须从高到低排列且不重叠 — {below} 排在 {above} 之后，"
                f"但 {fmt(lower.max)} ≥ {fmt(upper.min)}"
            )
        elif upper.min - lower.max != step:
            problems.append(
                f"规则：分档须覆盖 0–100 且无缺口 — {below} 与 {above} 之间缺少 "
                f"{fmt(lower.max + step)}–{fmt(upper.min - step)}"
            )
        if lower.points > upper.points:
            problems.append(
                f"规则：较低分档得分不高于较高分档 — {below} 得 {fmt(lower.points)}，"
                f"{above} 得 {fmt(upper.points)}"
            )
    if bands[0].max != 100:
        problems.append(f"规则：分档须覆盖 0–100 — 最高档上限为 {fmt(bands[0].max)}，应为 100")
    if bands[-1].min != 0:
        problems.append(f"规则：分档须覆盖 0–100 — 最低档下限为 {fmt(bands[-1].min)}，应为 0")
    return problems


def _check_outstanding(rubric: Rubric) -> list[str]:
    share = rubric.outstanding.share
    if not Decimal(0) < share <= 1:
        return [f"规则：优秀比例在 0–1 之间（不含 0）— 现为 {fmt(share)}"]
    return []


def _check_records(rubric: Rubric) -> list[str]:
    problems = []
    records = rubric.records
    for kind in RecordKind:
        if kind not in records.kinds:
            problems.append(
                f"规则：每种记录都须写明计入哪些考核项（可为空）— records.kinds 缺少 {kind.value}"
            )
    countable = {i.id for i in rubric.items if rubric.role_of(i.id) != "satisfaction"}
    named = [(f"records.kinds.{kind.value}", items) for kind, items in records.kinds.items()]
    named += [(f"records.activities.{word}", items) for word, items in records.activities.items()]
    named += [(f"records.topics.{word}", items) for word, items in records.topics.items()]
    named += [("records.offline_only", records.offline_only)]
    for word in records.alone:
        if word not in records.activities and word not in records.topics:
            problems.append(f"规则：records.alone 只能列出已定义的活动类型或话题 — {word}")
    for where, items in named:
        for item_id in items:
            if item_id not in countable:
                problems.append(
                    f"规则：记录只能计入已定义的考核项（满意度项除外）— {where} 中的 {item_id}"
                )
    if records.other_activity in records.activities:
        problems.append(f"规则：“其他”活动类型不能同时是列出的活动类型 — {records.other_activity}")
    return problems


def _check_evidence(rubric: Rubric) -> list[str]:
    problems = []
    scored = {i.id for i in rubric.scored_items + rubric.bonus_items}
    for item_id, requirements in rubric.evidence.items():
        if item_id not in scored:
            problems.append(
                f"规则：台账依据只能对应人工评分的考核项或加分项 — {item_id} 不是 B/M/A/E 项"
            )
        if not requirements:
            problems.append(f"规则：台账依据至少一项要求 — {item_id} 为空")
        for requirement in requirements:
            if not requirement.kinds:
                problems.append(f"规则：台账要求须列出记录类型 — {item_id}「{requirement.label}」")
            for kind in requirement.kinds:
                counted = set(rubric.records.kinds.get(kind, ()))
                counted.update(i for items in rubric.records.words(kind).values() for i in items)
                if item_id not in counted:
                    problems.append(
                        f"规则：台账要求的记录类型须计入该项 — {item_id}「{requirement.label}」"
                        f"列出 {kind.value}，但 records 中该类记录不计入 {item_id}"
                    )
    return problems
