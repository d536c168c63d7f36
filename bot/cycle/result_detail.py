"""A mentor's published result item by item: the score of every item of the rubric, the
evidence figures the system counted beside it, and the satisfaction band the rating fell in.
What the result page (查看详情) shows and what an objection's confirm card quotes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.cycle import messages
from bot.cycle.results import Results, source_of
from scoring import MentorResult
from scoring.evidence import MentorEvidence
from scoring.numbers import fmt
from scoring.rubric import Rubric


@dataclass(frozen=True)
class ItemLine:
    item: str
    title: str
    section: str
    maximum: str
    score: str  # "未评" when there is none
    figures: str  # the evidence counted for it ("" when the rubric counts none)


def item_scores(results: Results, rubric: Rubric, person_id: int) -> dict[str, Decimal | None]:
    """The published score of each item (satisfaction: its points; a bonus item: the points it
    earned, 0 when not earned)."""
    result = results.of(person_id)
    scores: dict[str, Decimal | None] = {}
    for item in rubric.items:
        role = rubric.role_of(item.id)
        if role == "satisfaction":
            scores[item.id] = result.satisfaction_points
            continue
        saved = results.scores.get((person_id, item.id, source_of(rubric, item.id)))
        value = None if saved is None else Decimal(saved.tenths) / 10
        if role == "bonus":
            value = item.max if value else Decimal(0)
        scores[item.id] = value
    return scores


def band_text(rubric: Rubric, result: MentorResult) -> str:
    """Which satisfaction band the rating fell in, and all the bands."""
    satisfaction = rubric.satisfaction
    bands = "；".join(
        f"{fmt(band.min)}–{fmt(band.max)}%：{fmt(band.points)} 分" for band in satisfaction.bands
    )
    if result.satisfaction is None:
        return f"没有足够的学生评价，按 {fmt(satisfaction.no_ratings_points)} 分计。各档：{bands}"
    if result.satisfaction_hidden:  # the percentage would give a thinly rated activity away
        return f"满意度得 {messages.satisfaction_shown(result)}。各档：{bands}"
    found = next((b for b in satisfaction.bands if b.min <= result.satisfaction <= b.max), None)
    where = (
        f"在 {fmt(found.min)}–{fmt(found.max)}% 档，得 {fmt(found.points)} 分"
        if found is not None
        else f"得 {fmt(result.satisfaction_points)} 分"
    )
    return f"满意度 {fmt(result.satisfaction)}%，{where}。各档：{bands}"


def item_lines(
    rubric: Rubric,
    scores: Mapping[str, Decimal | None],
    evidence: MentorEvidence | None,
    result: MentorResult,
) -> list[ItemLine]:
    """One line per item of the rubric, in its order."""
    lines = []
    for item in rubric.items:
        figures = ""
        if rubric.role_of(item.id) == "satisfaction":
            figures = band_text(rubric, result)
        elif evidence is not None and item.id in rubric.evidence:
            figures = "；".join(r.summary for r in evidence.item(item.id).requirements)
        score = scores.get(item.id)
        section = rubric.section_by_id[item.section]
        lines.append(
            ItemLine(
                item=item.id,
                title=item.title,
                section=section.title,
                maximum=fmt(item.max),
                score="未评" if score is None else fmt(score),
                figures=figures,
            )
        )
    return lines
