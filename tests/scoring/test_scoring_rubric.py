from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from scoring_helpers import RUBRIC_2021, cases, rubric_data

from scoring.numbers import fmt
from scoring.rubric import RubricError, load_rubric, parse_rubric, rubric_from_dict


def test_the_2021_rubric_loads_with_every_item_of_the_spec() -> None:
    rubric = load_rubric(RUBRIC_2021)
    maxima = {item.id: item.max for item in rubric.items}
    assert maxima == {
        **{"B1": 2, "B2": 2, "B3": 2, "B4": 5, "B5": 4, "B6": 5},
        **{"M1": 8, "M2": 7, "M3": 3, "M4": 4, "M5": 4, "M6": 5, "M7": 5, "M8": 4},
        **{"A1": 10, "A2": 5, "A3": 5, "S1": 20, "E1": 5, "E2": 5},
    }
    assert all(item.title and item.description for item in rubric.items)
    assert {s.id: s.total for s in rubric.sections} == {
        "basic": 20,
        "main": 40,
        "linkage": 20,
        "satisfaction": 20,
        "bonus": 5,
    }
    assert {g.id: g.total for g in rubric.groups} == {
        "college": 60,
        "academy": 20,
        "quantitative": 80,
        "qualitative": 20,
    }
    assert (rubric.total, rubric.maximum, rubric.bonus.points) == (100, 105, 5)
    sat = rubric.satisfaction
    assert [(lv.level, lv.name) for lv in sat.levels] == [
        (5, "非常满意"),
        (4, "满意"),
        (3, "一般"),
        (2, "不满意"),
        (1, "非常不满意"),
    ]
    assert sat.positive_set == {4, 5}
    assert sat.anonymity_threshold == 3
    assert [(b.min, b.max, b.points) for b in sat.bands] == [
        (Decimal("90.0"), Decimal("100.0"), 20),
        (Decimal("75.0"), Decimal("89.9"), 15),
        (Decimal("60.1"), Decimal("74.9"), 10),
        (Decimal("0.0"), Decimal("60.0"), 5),
    ]
    assert rubric.outstanding.share == Decimal("0.10")
    evidenced = {"B4", "B5", "A1", "A3", "E1", "E2"} | {f"M{n}" for n in range(1, 9)}
    assert set(rubric.evidence) == evidenced
    assert [i.id for i in rubric.scored_items][-3:] == ["A1", "A2", "A3"]
    assert [i.id for i in rubric.bonus_items] == ["E1", "E2"]


def test_the_packaged_default_is_the_2021_file() -> None:
    assert load_rubric() == load_rubric(RUBRIC_2021)


def _patch(data: dict[str, Any], path: list[Any], case: dict[str, Any]) -> None:
    node: Any = data
    for key in path[:-1]:
        if isinstance(node, list) and isinstance(key, str):
            node = next(entry for entry in node if entry["id"] == key)
        else:
            node = node[key]
    last = path[-1]
    if case.get("delete"):
        del node[last]
    else:
        node[last] = case["value"]


@pytest.mark.parametrize(
    "case", cases()["rubric_refusal"], ids=[c["name"] for c in cases()["rubric_refusal"]]
)
def test_a_rubric_breaking_a_rule_is_refused_with_a_clear_message(case: dict[str, Any]) -> None:
    data = rubric_data()
    _patch(data, case["path"], case)
    with pytest.raises(RubricError) as raised:
        rubric_from_dict(data)
    message = str(raised.value)
    for words in case["message"]:
        assert words in message, message
    assert all("\n" not in problem for problem in raised.value.problems)


def test_the_sum_message_names_the_rule_and_every_number() -> None:
    data = rubric_data()
    _patch(data, ["items", "M8", "max"], {"value": 3})
    with pytest.raises(RubricError) as raised:
        rubric_from_dict(data)
    (problem, *rest) = raised.value.problems
    assert "M1 8 + M2 7 + M3 3 + M4 4 + M5 4 + M6 5 + M7 5 + M8 3 = 39" in problem
    assert "规定总分 40" in problem
    # the group and total rules still hold (section totals are stated, not summed)
    assert rest == []


def test_bands_out_of_order_are_refused() -> None:
    data = rubric_data()
    bands = data["satisfaction"]["bands"]
    bands[0], bands[1] = bands[1], bands[0]
    with pytest.raises(RubricError, match="从高到低"):
        rubric_from_dict(data)


def test_not_toml_is_one_clear_message() -> None:
    with pytest.raises(RubricError) as raised:
        parse_rubric("name = ")
    assert len(raised.value.problems) == 1
    assert "TOML" in raised.value.problems[0]


def test_unreadable_file_is_refused(tmp_path: Any) -> None:
    with pytest.raises(RubricError, match="无法读取"):
        load_rubric(tmp_path / "missing.toml")


def test_every_default_can_be_changed_by_a_rubric_file() -> None:
    data = rubric_data()
    data["satisfaction"]["positive"] = [5]
    data["satisfaction"]["rounding"] = "half_even"
    data["satisfaction"]["anonymity_threshold"] = 5
    data["outstanding"].update(share=Decimal("0.2"), rounding="half_even", minimum=0)
    data["evidence"]["M1"][0]["target"] = 3
    rubric = rubric_from_dict(data)
    assert rubric.satisfaction.positive_set == {5}
    assert rubric.outstanding.minimum == 0
    assert rubric.evidence["M1"][0].target == 3


def test_fmt_renders_numbers_for_people() -> None:
    assert [fmt(Decimal(v)) for v in ("10", "11.50", "70.8", "0.0", "1E+1")] == [
        "10",
        "11.5",
        "70.8",
        "0",
        "10",
    ]
