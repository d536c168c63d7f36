"""Result workbooks and the closing exports: the outstanding mentors per college, a
per-mentor multi-year record (for HR), the full results. Every text cell is escaped so that
nothing starting with = + - @ runs as a formula.

Every workbook here reads the stored results (:func:`bot.cycle.results.current`): what was
published, corrected or closed, never a recomputation."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from openpyxl import Workbook
from openpyxl.styles import Font

from bot.core.models import AcademicYear, AssessmentCycle, CycleStatus, ItemScore
from bot.cycle.results import Member, Results, counted_items, current, rubric_of, source_of
from bot.cycle.workbook import escape_cell
from scoring import MentorResult

Filter = Callable[[Member], bool]


def _number(value: Decimal | None) -> Any:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _book(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([escape_cell(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([escape_cell(value) for value in row])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _flags(result: MentorResult) -> str:
    names = {"no_ratings": "无学生评价", "tie_at_cutoff": "优秀名额线并列", "incomplete": "未完成"}
    flags = list(result.flags) + (["incomplete"] if result.total is None else [])
    return "、".join(names.get(flag, flag) for flag in flags)


def rank_text(results: Results, result: MentorResult) -> str:
    """The rank in the college as "k / n" (n: the mentors ranked there); "" when unranked."""
    if result.rank is None:
        return ""
    ranked = next((c.ranked for c in results.assessment.colleges if c.college == result.college), 0)
    return f"{result.rank} / {ranked}"


def why_incomplete(result: MentorResult) -> str:
    """Why a mentor has no total: the items still without a score."""
    if result.total is not None:
        return ""
    return f"结果未完成：缺 {'、'.join(result.missing)} 的评分" if result.missing else "结果未完成"


def results_workbook(
    session: so.Session, cycle: AssessmentCycle, keep: Filter | None = None
) -> bytes:
    """One row per mentor: every item score (a bonus item as 是/否 with the competition or
    paper named), the parts, satisfaction, total, rank."""
    results = current(session, cycle)
    rubric = rubric_of(cycle)
    scores = results.scores
    items = counted_items(rubric)
    bonus = {i.id for i in rubric.bonus_items}
    headers = ["工号", "姓名", "所在单位", "考核学院"]
    for item in items:
        headers += [f"{item} 是否达成", f"{item} 竞赛或论文名称"] if item in bonus else [item]
    headers += ["学院考核", "书院部考核", "满意度(%)", "满意度得分", "加分", "总分", "学院排名"]
    headers += ["优秀导师", "备注"]
    rows = []
    for member in _ordered(results):
        if keep is not None and not keep(member):
            continue
        pid = member.person.id
        result = results.of(pid)
        row: list[Any] = [
            member.person.number,
            member.person.name,
            member.unit.name if member.unit else "",
            member.college.name,
        ]
        for item in items:
            saved = scores.get((pid, item, source_of(rubric, item)))
            if item in bonus:  # all or nothing: 是 with the competition or paper, or 否
                row += _achieved(saved)
            else:
                row.append(None if saved is None else _number(Decimal(saved.tenths) / 10))
        row += [
            _number(result.college_points),
            _number(result.academy_points),
            _number(result.satisfaction),
            _number(result.satisfaction_points),
            _number(result.bonus_points),
            _number(result.total),
            result.rank,
            "是" if result.outstanding else "",
            _flags(result),
        ]
        rows.append(row)
    return _book("考核结果", headers, rows)


def _achieved(saved: ItemScore | None) -> list[Any]:
    """A bonus item's two cells: 是 and the competition or paper named, 否, or not scored."""
    if saved is None:
        return [None, None]
    return ["是", saved.note or ""] if saved.tenths > 0 else ["否", None]


def _ordered(results: Results) -> list[Member]:
    return sorted(
        results.members,
        key=lambda m: (m.college.code, results.of(m.person.id).rank or 10**6, m.person.number),
    )


def outstanding_workbook(session: so.Session, cycle: AssessmentCycle) -> bytes:
    results = current(session, cycle)
    rows = []
    for member in _ordered(results):
        result = results.of(member.person.id)
        if result.outstanding:
            rows.append(
                [
                    member.college.name,
                    result.rank,
                    member.person.number,
                    member.person.name,
                    member.unit.name if member.unit else "",
                    _number(result.total),
                    "并列，需书院部确定" if "tie_at_cutoff" in result.flags else "",
                ]
            )
    headers = ["考核学院", "学院排名", "工号", "姓名", "所在单位", "总分", "备注"]
    return _book("优秀导师", headers, rows)


def history_workbook(session: so.Session) -> bytes:
    """Every mentor's final results over all closed cycles, one row per mentor and year, as
    stored when each cycle closed (第七条: the record for promotion references): the mentor's
    own unit, the points of each part, the total, the rank "k / n" in the college, and for a
    mentor left incomplete, why."""
    cycles = session.scalars(
        sa.select(AssessmentCycle)
        .join(AcademicYear)
        .where(AssessmentCycle.status == CycleStatus.CLOSED)
        .order_by(AcademicYear.code)
    ).all()
    rows = []
    for cycle in cycles:
        results = current(session, cycle)
        for member in results.members:
            result = results.of(member.person.id)
            flags = [f for f in _flags(result).split("、") if f and f != "未完成"]
            rows.append(
                [
                    member.person.number,
                    member.person.name,
                    cycle.year.code,
                    member.unit.name if member.unit else "",
                    member.college.name,
                    _number(result.college_points),
                    _number(result.academy_points),
                    _number(result.satisfaction_points),
                    _number(result.bonus_points),
                    _number(result.total),
                    rank_text(results, result),
                    "是" if result.outstanding else "",
                    "；".join([why_incomplete(result), *flags] if result.total is None else flags),
                ]
            )
    rows.sort(key=lambda row: (row[0], row[2]))
    headers = ["工号", "姓名", "学年", "所在单位", "考核学院", "学院考核", "书院部考核"]
    headers += ["满意度得分", "加分", "总分", "学院排名", "优秀导师", "备注"]
    return _book("历年考核", headers, rows)
