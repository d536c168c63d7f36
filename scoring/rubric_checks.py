"""The rules that tie a rubric's numbers together, checked after the strict load: one message
per broken rule, naming the rule and the numbers (``scoring.rubric.rubric_from_dict``)."""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from scoring.evidence import RecordKind
from scoring.numbers import fmt, has_decimals

if TYPE_CHECKING:
    from scoring.rubric import Rubric, Satisfaction


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
