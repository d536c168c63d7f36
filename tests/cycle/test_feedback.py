"""The academy's A scores fed back: once the office has submitted them, a college's workbook
and page show its mentors' A scores read-only, their totals and the rank within the college;
a college submitting before that is told so and asked to confirm."""

from __future__ import annotations

import sqlalchemy as sa

from bot.core.models import AssessmentCycle, Submission
from bot.cycle.results import compute
from scoring.numbers import fmt
from tests.cycle.conftest import Browser, save, workbook_rows
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import _fill_academy, _hub_path, _score_college

SHOWN = "A1 书院部评分（只读，满分 10）"


def _row(sheet, number: str) -> int:
    return next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 1).value == number)


def _submissions(database) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count(Submission.id)))


def test_a_college_sees_the_academy_scores_totals_and_ranks(app, database, demo, phone):
    open_confirmed(phone)
    hub = _score_college(app, database, "cs_admin")
    college = Browser(app, "cs_admin")
    before = college.get(hub).text
    assert "书院部提交 A 项（联动融合）评分后，这里会显示" in before
    _book, _sheet, headers = workbook_rows(college.get(hub + "/workbook.xlsx").data)
    assert SHOWN not in headers and "总分（只读）" not in headers

    # submitting before the A scores exist: told so, asked to confirm, nothing submitted
    phone.say("cs_admin", "提交评分")
    answer = phone.last_text("cs_admin")
    assert "书院部尚未提交 A 项" in answer and "提交评分 确认" in answer
    assert _submissions(database) == 0

    # the office scores A and submits; the college is told
    office = Browser(app, "shuyuan_admin")
    academy = _hub_path(database, "shuyuan_admin")
    office.upload(academy + "/upload", _fill_academy(office.get(academy + "/workbook.xlsx").data))
    office.post(academy + "/confirm")
    phone.say("shuyuan_admin", "提交评分")
    assert "书院部已提交" in phone.last_text("cs_admin")

    with database.session() as session:
        results = compute(session, session.scalar(sa.select(AssessmentCycle)))
        cs = [m for m in results.members if m.college.code == "CS"]
        wang = next(m for m in cs if m.person.userid == "wanglaoshi")
        total, rank = results.of(wang.person.id).total, results.of(wang.person.id).rank
    assert total is not None

    # the page: A scores, totals and ranks of the college's own mentors only
    page = college.get(hub).text
    assert "书院部评分与总分（只读）" in page
    assert "<td>9.5</td>" in page and f"<td>{fmt(total)}</td>" in page
    assert f"<td>{rank} / 7</td>" in page
    assert "王建国" in page and "刘芳" not in page  # 刘芳 is assessed by another college

    # the workbook: the same, read-only; editing a read-only column changes nothing
    content = college.get(hub + "/workbook.xlsx").data
    book, sheet, headers = workbook_rows(content)
    row = _row(sheet, "19980001")
    assert sheet.cell(row, headers[SHOWN]).value == 9.5
    assert sheet.cell(row, headers["总分（只读）"]).value == float(total)
    assert sheet.cell(row, headers["院内排名（只读）"]).value == f"{rank} / 7"
    assert sheet.max_row - 3 == 7
    sheet.cell(row, headers[SHOWN], 0)
    sheet.cell(row, headers["总分（只读）"], 100)
    unchanged = college.upload(hub + "/upload", save(book))
    assert "没有需要保存的修改" in unchanged.text

    # now submitting needs no confirmation
    phone.say("cs_admin", "提交评分")
    assert "已提交计算机与物联网学院的评分" in phone.last_text("cs_admin")
