"""Quick text → a draft record, before any name is looked up.

``交流 张三 李四 线上 聊选课``, ``活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四、王五``,
``沟通 辅导员 昨天 谈学生学业``, ``关爱 张三 最近情绪低落，约了下周再谈``, ``宣传 …``,
``书院 …``, ``资源 …``, ``学期计划 …``, ``月计划 …``, ``月总结 …``. The parser is pure: the
caller says which words are names (``is_name``) and gives the calendar context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import NoReturn

from bot.core.echo import echo
from bot.core.models import RecordKind
from bot.records.dates import DateError, When, check_time, looks_like_time, parse_time, parse_when
from bot.records.names import could_be_name

COMMANDS: dict[str, RecordKind | None] = {
    "交流": RecordKind.CONTACT,
    "个别交流": RecordKind.CONTACT,
    "活动": RecordKind.GROUP_ACTIVITY,
    "集体活动": RecordKind.GROUP_ACTIVITY,
    "沟通": None,  # 辅导员 → counsellor talk; 院长… → leader talk
    "关爱": RecordKind.CARE,
    "宣传": RecordKind.PUBLICITY,
    "书院": RecordKind.ACADEMY_BOOKING,
    "资源": RecordKind.EXTERNAL_RESOURCE,
    "学期计划": RecordKind.SEMESTER_PLAN,
    "计划": RecordKind.MONTHLY_PLAN,
    "月计划": RecordKind.MONTHLY_PLAN,
    "总结": RecordKind.MONTHLY_SUMMARY,
    "月总结": RecordKind.MONTHLY_SUMMARY,
}

COUNSELLOR_WORDS = ("辅导员",)
LEADER_WORDS = ("院长", "副院长", "学院领导", "院领导", "学院负责人", "书记", "副书记", "领导")
ONLINE_WORDS = {
    "线上": True,
    "网上": True,
    "电话": True,
    "微信": True,
    "视频": True,
    "线下": False,
    "面谈": False,
    "当面": False,
    "见面": False,
}
PARTICIPANT_MARKERS = ("参加", "参与", "参加者", "参与者", "学生")
PLACE_SUFFIXES = (
    "馆",
    "室",
    "楼",
    "厅",
    "堂",
    "场",
    "园",
    "中心",
    "食堂",
    "咖啡",
    "书院",
    "教室",
    "宿舍",
    "操场",
    "广场",
)
# The correct form of each command, shown with every refusal of a quick text.
EXAMPLES: dict[RecordKind, str] = {
    RecordKind.CONTACT: "交流 张三 昨天19:00 图书馆 聊选课",
    RecordKind.GROUP_ACTIVITY: "活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四",
    RecordKind.COUNSELLOR_TALK: "沟通 辅导员 昨天16:00 了解学生近况",
    RecordKind.LEADER_TALK: "沟通 院长 今天 汇报本学期工作",
    RecordKind.CARE: "关爱 张三 昨天20:00 最近情绪低落，约了下周再谈",
    RecordKind.ACADEMY_BOOKING: "书院 昨天14:00 书院活动室 预约读书角",
}
_SEPARATORS = re.compile(r"[、，,；;/]+")
_MARKER = re.compile(
    "^(?:" + "|".join(sorted(PARTICIPANT_MARKERS, key=len, reverse=True)) + ")[：:]"
)


class QuickTextError(ValueError):
    """Quick text that cannot become a record; the message tells the mentor what to send."""


def correct_form(text: str) -> str:
    """``例如：交流 张三 昨天19:00 …``: how the command in ``text`` is written."""
    words = text.split()
    kind = COMMANDS.get(words[0]) if words else None
    example = EXAMPLES.get(kind) if kind is not None else None
    if example is None:
        return "时间可以写：今天、昨天、周三、11月20日、11月20日19:00"
    return f"请这样写，例如：{example}"


@dataclass
class QuickRecord:
    kind: RecordKind
    names: list[str] = field(default_factory=list)
    when: When | None = None
    online: bool | None = None
    place: str | None = None
    title: str = ""
    note: str | None = None


def parse_quick(
    text: str,
    *,
    today: date,
    year_start: date,
    year_end: date,
    is_name: Callable[[str], bool],
) -> QuickRecord:
    """Read a quick record; raises QuickTextError or DateError (both say what to fix)."""
    words = text.split()
    if not words or words[0] not in COMMANDS:
        raise QuickTextError("不是记录命令")
    command, rest = words[0], words[1:]
    kind = COMMANDS[command]
    if kind is None:
        kind, rest = _talk_kind(rest)
    record = QuickRecord(kind=kind)
    rest = _take_participants(rest, record, is_name)
    if kind in (RecordKind.CONTACT, RecordKind.CARE):
        rest = _take_leading_names(
            rest, record, is_name, lambda word: _is_when(word, today, year_start, year_end)
        )
    others = _take_when_and_mode(rest, record, today, year_start, year_end)
    _fill_text(record, others, lambda word: _is_when(word, today, year_start, year_end))
    return record


def _talk_kind(rest: list[str]) -> tuple[RecordKind, list[str]]:
    if rest:
        who = rest[0].removeprefix("与").removeprefix("和")
        if who.startswith(COUNSELLOR_WORDS):
            return RecordKind.COUNSELLOR_TALK, rest[1:]
        if who.startswith(LEADER_WORDS):
            return RecordKind.LEADER_TALK, rest[1:]
    raise QuickTextError(
        "请说明沟通对象，例如：\n· 沟通 辅导员 昨天16:00 了解学生近况"
        "\n· 沟通 院长 今天 汇报本学期工作"
    )


def _split_names(token: str) -> list[str]:
    return [part for part in _SEPARATORS.split(token) if part]


def _take_participants(
    rest: list[str], record: QuickRecord, is_name: Callable[[str], bool]
) -> list[str]:
    """``参加：张三、李四`` (and names right after it, separated by spaces)."""
    for index, word in enumerate(rest):
        marker = _MARKER.match(word)
        if not marker:
            continue
        record.names.extend(_split_names(word[marker.end() :]))
        after = index + 1
        while after < len(rest) and all(is_name(part) for part in _split_names(rest[after])):
            record.names.extend(_split_names(rest[after]))
            after += 1
        return rest[:index] + rest[after:]
    return rest


def _take_leading_names(
    rest: list[str],
    record: QuickRecord,
    is_name: Callable[[str], bool],
    is_date: Callable[[str], bool],
) -> list[str]:
    """Names at the front: known names; before a date, mode or place, any name-shaped word
    (so a mistyped name is asked about, not taken as the note); else a name-shaped first word.
    """
    details = [i for i, word in enumerate(rest) if _is_detail(word) or is_date(word)]
    zone_end = details[0] if details else 0
    index = 0
    while index < len(rest):
        parts = _split_names(rest[index])
        shaped = bool(parts) and all(could_be_name(part) for part in parts)
        known = bool(parts) and all(is_name(part) for part in parts)
        shaped = shaped and not is_date(rest[index])  # 明天 is a day, never a name
        in_zone = index < zone_end and shaped
        first_guess = index == 0 and shaped and not _is_detail(rest[index])
        if not (known or in_zone or first_guess):
            break
        record.names.extend(parts)
        index += 1
    return rest[index:]


def _is_when(word: str, today: date, year_start: date, year_end: date) -> bool:
    """A day or a time of day, possible or not (so never a name, a title or a place)."""
    if looks_like_time(word):
        return True
    try:
        return parse_when(word, today, year_start, year_end) is not None
    except ValueError:
        return True


def _is_place(word: str) -> bool:
    return word.endswith(PLACE_SUFFIXES)


def _is_detail(word: str) -> bool:
    return word in ONLINE_WORDS or _is_place(word)


def _take_when_and_mode(
    rest: list[str], record: QuickRecord, today: date, year_start: date, year_end: date
) -> list[str]:
    """The day (and time) and 线上/线下; a time that cannot exist is refused wherever it is
    (DateError), and a time alone is today's."""
    others: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        check_time(word)
        when = parse_when(word, today, year_start, year_end) if record.when is None else None
        at = parse_time(word) if when is None and record.when is None else None
        if at is not None:
            when = When(today, at)
        if when is not None:
            if when.at is None and index + 1 < len(rest):
                check_time(rest[index + 1])
                at = parse_time(rest[index + 1])
                if at is not None:
                    when = When(when.day, at)
                    index += 1
            record.when = when
        elif word in ONLINE_WORDS and record.online is None:
            record.online = ONLINE_WORDS[word]
        else:
            others.append(word)
        index += 1
    return others


def _refuse_when_in_slot(word: str, slot: str, record: QuickRecord) -> NoReturn:
    """A second day or time where a name or a place belongs is refused, never stored there."""
    written = "" if record.when is None else "（时间只写一次）"
    raise DateError(f"“{echo(word)}”是时间，不能作为{slot}{written}。")


def _fill_text(record: QuickRecord, others: list[str], is_when: Callable[[str], bool]) -> None:
    kind = record.kind
    if kind == RecordKind.GROUP_ACTIVITY:
        if not others:
            raise QuickTextError(
                "请写上活动名称，例如：活动 读书沙龙 11月20日19:00 图书馆 参加：张三、李四"
            )
        for word, slot in zip(others[:2], ("活动名称", "地点"), strict=False):
            if is_when(word):
                _refuse_when_in_slot(word, slot, record)
        record.title = others[0]
        record.place = others[1] if len(others) > 1 else None
        record.note = " ".join(others[2:]) or None
        record.online = False if record.online is None else record.online
        return
    if kind == RecordKind.CONTACT:
        if others and _is_place(others[0]):
            record.place, others = others[0], others[1:]
        record.note = " ".join(others) or None
        return
    if kind in (RecordKind.COUNSELLOR_TALK, RecordKind.LEADER_TALK, RecordKind.CARE):
        if len(others) >= 2 and _is_place(others[0]):
            record.place, others = others[0], others[1:]
        record.note = " ".join(others) or None
        return
    if kind == RecordKind.ACADEMY_BOOKING and len(others) >= 2 and _is_place(others[0]):
        record.place, others = others[0], others[1:]
    record.title = " ".join(others)
    if not record.title:
        raise QuickTextError("请在命令后写上内容，例如：宣传 读书沙龙活动推文已交学院")
