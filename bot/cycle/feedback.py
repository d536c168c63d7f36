"""The academy's A scores fed back to the colleges: once the office has submitted its A
scores, each college's workbook and page show its mentors' A scores (read-only), the totals
computed from everything saved so far and the rank within the college, so that a college sees
its totals before it submits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import AssessmentCycle, ScoreSource, Submission
from bot.cycle.cycles import ACADEMY_SUBJECT
from bot.cycle.export import rank_text, why_incomplete
from bot.cycle.results import academy_item_ids, current, rubric_of
from bot.cycle.workbook import ItemColumn


@dataclass(frozen=True)
class Line:
    """One mentor of the college: the office's A scores, the total and the rank "k / n"."""

    person_id: int
    number: str
    name: str
    academy: dict[str, Decimal]
    total: Decimal | None
    rank: str
    note: str


def academy_submitted(session: so.Session, cycle: AssessmentCycle) -> bool:
    return (
        session.scalar(
            sa.select(Submission.id).where(
                Submission.cycle_id == cycle.id,
                Submission.step == "academy",
                Submission.subject_id == ACADEMY_SUBJECT,
            )
        )
        is not None
    )


def academy_items(cycle: AssessmentCycle) -> list[ItemColumn]:
    rubric = rubric_of(cycle)
    return [
        ItemColumn(i, rubric.item_by_id[i].title, rubric.item_by_id[i].max)
        for i in academy_item_ids(rubric)
    ]


def college_lines(
    session: so.Session, cycle: AssessmentCycle, college_id: int
) -> list[Line] | None:
    """The college's mentors with their A scores, totals and ranks; None until the office has
    submitted its A scores. Computed while the cycle is open, the stored results after."""
    if not academy_submitted(session, cycle):
        return None
    results = current(session, cycle)
    items = [item.id for item in academy_items(cycle)]
    lines = []
    for member in results.members:
        if member.college.id != college_id:
            continue
        pid = member.person.id
        result = results.of(pid)
        academy = {
            item: Decimal(s.tenths) / 10
            for item in items
            if (s := results.scores.get((pid, item, ScoreSource.ACADEMY))) is not None
        }
        lines.append(
            Line(
                pid, member.person.number, member.person.name, academy, result.total,
                rank_text(results, result), why_incomplete(result),
            )
        )  # fmt: skip
    return lines
