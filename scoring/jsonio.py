"""The JSON side of the command-line contract: strict reading of the input file into
:class:`MentorInput` values (every problem reported, one line each), and the output shape."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from scoring.engine import Assessment, InputError, MentorInput, check_mentor, mentor_label
from scoring.numbers import json_number
from scoring.rubric import Rubric

MENTOR_FIELDS = ("id", "college", "item_scores", "bonus", "activity_ratings")


class _Object(dict[str, Any]):
    """A JSON object that remembers keys given twice."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicates = []
        for key, _ in pairs:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        result.duplicates = tuple(duplicates)
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} 不是合法的数字")


def parse_input(text: str | bytes, rubric: Rubric) -> tuple[MentorInput, ...]:
    """The mentors of an input file; InputError with every problem otherwise."""
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError too
        raise InputError([f"输入不是合法的 JSON (invalid JSON)：{exc}"]) from None
    if not isinstance(data, dict):
        raise InputError(['输入应为 JSON 对象 {"mentors": [...]} (expected an object)'])
    problems = [f"输入：未知字段 {key} (unknown field)" for key in data if key != "mentors"]
    problems += [f"输入：字段 {key} 重复 (duplicate key)" for key in _dups(data)]
    raw = data.get("mentors")
    if not isinstance(raw, list):
        what = "缺少字段 mentors" if raw is None else "mentors 应为数组"
        raise InputError([*problems, f"输入：{what} (expected mentors: [...])"])
    mentors: list[MentorInput] = []
    first_position: dict[str, int] = {}
    for position, entry in enumerate(raw, start=1):
        mentor, entry_problems = _mentor(entry, position, rubric.satisfaction.item)
        problems += entry_problems
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            mentor_id = entry["id"]
            if mentor_id in first_position:
                problems.append(
                    f"{mentor_label(mentor_id)}：导师编号重复（第 {first_position[mentor_id]} 位"
                    f"与第 {position} 位） (duplicate mentor id)"
                )
            else:
                first_position[mentor_id] = position
        if mentor is not None:
            problems += check_mentor(mentor, rubric)
            mentors.append(mentor)
    if problems:
        raise InputError(problems)
    return tuple(mentors)


def _dups(value: object) -> tuple[str, ...]:
    return value.duplicates if isinstance(value, _Object) else ()


def _mentor(entry: object, position: int, sat_item: str) -> tuple[MentorInput | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"第 {position} 位导师：应为 JSON 对象 (expected an object)"]
    mentor_id = entry.get("id")
    who = (
        mentor_label(mentor_id)
        if isinstance(mentor_id, str) and mentor_id
        else f"第 {position} 位导师"
    )
    problems = [
        f"{who}：缺少字段 {name} (missing field)" for name in MENTOR_FIELDS if name not in entry
    ]
    problems += [
        f"{who}：未知字段 {key} (unknown field)" for key in entry if key not in MENTOR_FIELDS
    ]
    problems += [f"{who}：字段 {key} 重复 (duplicate key)" for key in _dups(entry)]
    if "id" in entry and not (isinstance(mentor_id, str) and mentor_id.strip()):
        problems.append(f"{who}：id 应为非空字符串 (id must be a non-empty string)")
    college = entry.get("college")
    if "college" in entry and not (isinstance(college, str) and college.strip()):
        problems.append(f"{who}：college 应为非空字符串 (college must be a non-empty string)")
    scores = _scores(entry.get("item_scores", {}), who, problems)
    bonus = _bonus(entry.get("bonus", []), who, problems)
    ratings = _ratings(entry.get("activity_ratings", []), f"{who} 项 {sat_item}", problems)
    if problems:
        return None, problems
    # colleges are compared (ranking, outstanding lists) by name: " 计算机学院" is 计算机学院
    return MentorInput(str(mentor_id), str(college).strip(), scores, bonus, ratings), []


def _shown(value: object) -> str:
    """A JSON value as the input wrote it: 4.5 as a number, not the string "4.5"."""
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _scores(value: object, who: str, problems: list[str]) -> dict[str, Decimal]:
    if not isinstance(value, dict):
        problems.append(f'{who}：item_scores 应为对象，如 {{"B1": 2}} (expected an object)')
        return {}
    problems += [f"{who} 项 {key}：重复给分 (duplicate key)" for key in _dups(value)]
    scores = {}
    for item_id, score in value.items():
        if _is_number(score):
            scores[item_id] = Decimal(score)
        else:
            problems.append(f"{who} 项 {item_id}：分数 {_shown(score)} 不是数字 (not a number)")
    return scores


def _bonus(value: object, who: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f'{who}：bonus 应为加分项编号数组，如 ["E1"] (expected a list of ids)')
        return frozenset()
    return frozenset(value)


def _ratings(value: object, who: str, problems: list[str]) -> tuple[tuple[int, ...], ...]:
    if not isinstance(value, list):
        problems.append(f"{who}：activity_ratings 应为数组的数组 (expected a list of lists)")
        return ()
    activities = []
    for a, ratings in enumerate(value):
        if not isinstance(ratings, list):
            problems.append(f"{who}：activity_ratings[{a}] 应为数组 (expected a list)")
            continue
        for r, level in enumerate(ratings):
            if type(level) is not int:
                problems.append(
                    f"{who}：activity_ratings[{a}][{r}] 评价等级 "
                    f"{_shown(level)} 不是 1–5 的整数"
                    " (rating level must be an integer)"
                )
        activities.append(tuple(ratings))
    return tuple(activities)


def render(assessment: Assessment) -> dict[str, Any]:
    """The output document, keys in the contract's order, numbers as JSON numbers."""

    def number(value: Decimal | None) -> int | float | None:
        return None if value is None else json_number(value)

    return {
        "mentors": [
            {
                "id": m.id,
                "college": m.college,
                "status": m.status,
                "college_points": number(m.college_points),
                "academy_points": number(m.academy_points),
                "satisfaction": number(m.satisfaction),
                "satisfaction_points": number(m.satisfaction_points),
                "bonus_points": number(m.bonus_points),
                "total": number(m.total),
                "rank": m.rank,
                "outstanding": m.outstanding,
                "flags": list(m.flags),
            }
            for m in assessment.mentors
        ],
        "colleges": [
            {
                "college": c.college,
                "ranked": c.ranked,
                "quota": c.quota,
                "outstanding": list(c.outstanding),
                "flags": list(c.flags),
            }
            for c in assessment.colleges
        ],
    }


def dumps(assessment: Assessment) -> str:
    return json.dumps(render(assessment), ensure_ascii=False, indent=2)
