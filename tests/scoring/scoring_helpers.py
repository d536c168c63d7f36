"""Builders shared by the scoring tests: cases from cases.toml, mentors, the rubric."""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from scoring.engine import MentorInput
from scoring.rubric import Rubric, load_rubric

HERE = Path(__file__).parent
RUBRIC_2021 = Path(__file__).parents[2] / "scoring" / "rubrics" / "2021.toml"


@cache
def cases() -> dict[str, Any]:
    return tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"), parse_float=Decimal)


@cache
def rubric() -> Rubric:
    return load_rubric()


def rubric_data() -> dict[str, Any]:
    return copy.deepcopy(_rubric_data())


@cache
def _rubric_data() -> dict[str, Any]:
    return tomllib.loads(RUBRIC_2021.read_text(encoding="utf-8"), parse_float=Decimal)


def ratings(spec: list[Any]) -> tuple[tuple[int, ...], ...]:
    """Activities from a list of levels or a table level → count."""
    activities = []
    for activity in spec:
        if isinstance(activity, dict):
            levels: list[int] = []
            for level, count in activity.items():
                levels += [int(level)] * count
            activities.append(tuple(levels))
        else:
            activities.append(tuple(activity))
    return tuple(activities)


def mentor(spec: dict[str, Any]) -> MentorInput:
    scores: dict[str, Decimal] = {}
    fill = spec.get("fill")
    if fill is not None:
        for item in rubric().scored_items:
            scores[item.id] = item.max if fill == "max" else min(Decimal(fill), item.max)
    for item_id, score in spec.get("item_scores", {}).items():
        if score == "missing":
            scores.pop(item_id, None)
        else:
            scores[item_id] = Decimal(score)
    return MentorInput(
        id=spec["id"],
        college=spec["college"],
        item_scores=scores,
        bonus=frozenset(spec.get("bonus", ())),
        activity_ratings=ratings(spec.get("ratings", [])),
    )


def expected(value: Any) -> Any:
    if value == "null":
        return None
    if isinstance(value, list):
        return tuple(value)
    return value
