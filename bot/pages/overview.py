"""The read-only overview of a published year for the office, 人力资源处 and 教务处: every
mentor's result, the outstanding mentors by college, the downloads (the year's results, and
for HR and the office the multi-year record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, render_template

from bot.core.db import get_session
from bot.core.models import AssessmentCycle, CycleStatus
from bot.cycle import export, oversight
from bot.cycle.results import Results, current
from bot.pages.auth import error_page, login_required
from bot.pages.files import xlsx_response
from scoring.numbers import fmt

blueprint = Blueprint("overview", __name__, url_prefix="/m/cycle")


@dataclass(frozen=True)
class Line:
    college: str
    rank: str
    name: str
    number: str
    unit: str
    parts: list[str]  # college, academy, satisfaction, bonus points
    total: str
    outstanding: bool
    note: str


def lines_of(results: Results) -> list[Line]:
    """Every mentor by college and rank; the incomplete ones last in their college, with why."""
    found = []
    for member in sorted(
        results.members,
        key=lambda m: (m.college.code, results.of(m.person.id).rank or 10**6, m.person.number),
    ):
        result = results.of(member.person.id)
        parts = [
            result.college_points,
            result.academy_points,
            result.satisfaction_points,
            result.bonus_points,
        ]
        found.append(
            Line(
                college=member.college.name,
                rank=export.rank_text(results, result),
                name=member.person.name,
                number=member.person.number,
                unit=member.unit.name if member.unit else "",
                parts=[fmt(part) for part in parts],
                total="" if result.total is None else fmt(result.total),
                outstanding=result.outstanding,
                note=export.why_incomplete(result),
            )
        )
    return found


@blueprint.get("/<id:cycle_id>/overview")
@login_required
def overview(cycle_id: int) -> Any:
    if not oversight.may_read_results(g.person):
        return error_page(403, "考核总览只对书院部、人力资源处和教务处开放。")
    cycle = get_session().get(AssessmentCycle, cycle_id)
    if cycle is None or cycle.status == CycleStatus.OPEN:
        return error_page(404, "考核结果还没有公示。")
    lines = lines_of(current(get_session(), cycle))
    return render_template(
        "pages/cycle_overview.html",
        cycle=cycle,
        final=cycle.status == CycleStatus.CLOSED,
        lines=lines,
        outstanding=[line for line in lines if line.outstanding],
        incomplete=sum(1 for line in lines if line.note),
        history=oversight.may_read_history(g.person),
    )


@blueprint.get("/history.xlsx")
@login_required
def history() -> Any:
    """The multi-year record of every closed cycle (第七条), for HR and the office."""
    if not oversight.may_read_history(g.person):
        return error_page(403, "导师历年考核记录只对人力资源处和书院部开放。")
    return xlsx_response("导师历年考核记录.xlsx", export.history_workbook(get_session()))
