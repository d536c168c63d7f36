"""E1 and E2 (bonus) entered as achieved or not (是/否) with the competition or paper named:
in the college workbook through the in-app pages, and in a correction through the chat."""

from __future__ import annotations

import io
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AssessmentCycle,
    ItemScore,
    Objection,
    Person,
    ResultSnapshot,
    ScoreSource,
)
from bot.cycle import export
from bot.cycle.results import compute
from tests.cycle.conftest import Browser, save, workbook_rows
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import COLLEGE_ITEMS, MAXIMA, _hub_path


def _fill(content: bytes, bonus: dict[str, tuple[object, object]]) -> bytes:
    """Every B and M item at its maximum; ``bonus``: item → (是/否 cell, name cell) for
    王建国's row, 否 for everyone else."""
    book, sheet, headers = workbook_rows(content)
    for row in range(4, sheet.max_row + 1):
        mine = sheet.cell(row, headers["工号"]).value == "19980001"
        for item in COLLEGE_ITEMS:
            sheet.cell(row, headers[f"{item} 评分（满分 {MAXIMA[item]}）"], MAXIMA[item])
        for item in ("E1", "E2"):
            achieved, name = bonus.get(item, ("否", None)) if mine else ("否", None)
            sheet.cell(row, headers[f"{item} 是否达成（是/否）"], achieved)
            sheet.cell(row, headers[f"{item} 竞赛或论文名称"], name)
    return save(book)


def _score(database, userid: str, item: str) -> ItemScore | None:
    with database.session() as session:
        person = session.scalar(sa.select(Person).where(Person.userid == userid))
        return session.scalar(
            sa.select(ItemScore).where(
                ItemScore.mentor_id == person.id,
                ItemScore.item == item,
                ItemScore.source == ScoreSource.COLLEGE,
            )
        )


def test_bonus_is_entered_as_yes_or_no_with_a_name(app, database, demo, phone):
    open_confirmed(phone)
    hub = _hub_path(database, "cs_admin")
    browser = Browser(app, "cs_admin")
    content = browser.get(hub + "/workbook.xlsx").data

    refused = browser.upload(hub + "/upload", _fill(content, {"E1": (0.5, "数学竞赛")}))
    assert refused.status_code == 400
    assert "“0.5”无效：加分项只填“是”或“否”" in refused.text
    unnamed = browser.upload(hub + "/upload", _fill(content, {"E1": ("是", None)}))
    assert "选“是”时请在“E1 竞赛或论文名称”列写明竞赛或论文名称" in unnamed.text
    assert _score(database, "wanglaoshi", "E1") is None

    good = _fill(content, {"E1": ("是", "全国大学生数学建模竞赛 省二等奖")})
    confirm = browser.upload(hub + "/upload", good)
    assert confirm.status_code == 200, confirm.text
    assert "E1：未评 → 是（全国大学生数学建模竞赛 省二等奖）" in confirm.text
    assert "E2：未评 → 否" in confirm.text
    assert "已保存" in browser.post(hub + "/confirm").text
    e1 = _score(database, "wanglaoshi", "E1")
    assert (e1.tenths, e1.note) == (50, "全国大学生数学建模竞赛 省二等奖")
    assert (
        _score(database, "wanglaoshi", "E2").tenths,
        _score(database, "wanglaoshi", "E2").note,
    ) == (0, None)

    # the workbook shows what was entered; renaming the competition alone is a change
    _book, sheet, headers = workbook_rows(browser.get(hub + "/workbook.xlsx").data)
    row = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 1).value == "19980001")
    assert sheet.cell(row, headers["E1 是否达成（是/否）"]).value == "是"
    assert sheet.cell(row, headers["E1 竞赛或论文名称"]).value == "全国大学生数学建模竞赛 省二等奖"
    renamed = browser.upload(hub + "/upload", _fill(content, {"E1": ("是", "蓝桥杯 省一等奖")}))
    assert "E1：是 → 是（蓝桥杯 省一等奖）" in renamed.text

    # the engine sees an achieved bonus: +5 once
    with database.session() as session:
        cycle = session.scalar(sa.select(AssessmentCycle))
        results = compute(session, cycle)
        wang = next(m for m in results.members if m.person.userid == "wanglaoshi")
        others = [m for m in results.members if m.college.code == "CS" and m is not wang]
        assert results.of(wang.person.id).bonus_points == Decimal(5)
        assert all(results.of(m.person.id).bonus_points == 0 for m in others)

    # a correction of a bonus item: 是 or 否, never a partial score
    phone.say("cs_admin", "提交评分 确认")
    phone.say("shuyuan_admin", "公示 强制")
    phone.say("wanglaoshi", "异议 我在省级期刊发表了导师制论文，E2 应为“是”")
    with database.session() as session:
        objection_id = session.scalar(sa.select(sa.func.max(Objection.id)))
    phone.say("shuyuan_admin", f"更正 {objection_id} E2 0.5 已核实论文")
    assert "E2 为加分项，只能更正为“是”或“否”" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", f"更正 {objection_id} B1 是 核实")
    assert "B1 不是加分项" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", f"更正 {objection_id} E2 是 《全生异科导师制实践》已核实发表")
    assert "已更正" in phone.last_text("shuyuan_admin")
    e2 = _score(database, "wanglaoshi", "E2")
    assert (e2.tenths, e2.note) == (50, "《全生异科导师制实践》已核实发表")

    # the results workbook: 是 with the competition or paper, or 否; never 5 or 0
    with database.session() as session:
        cycle = session.scalar(sa.select(AssessmentCycle))
        [header, *rows] = load_workbook(
            io.BytesIO(export.results_workbook(session, cycle))
        ).active.iter_rows(values_only=True)
    columns = {name: index for index, name in enumerate(header)}
    wang = next(row for row in rows if row[0] == "19980001")
    shown = {
        h: wang[columns[h]]
        for h in ("E1 是否达成", "E1 竞赛或论文名称", "E2 是否达成", "E2 竞赛或论文名称")
    }
    assert shown == {
        "E1 是否达成": "是", "E1 竞赛或论文名称": "全国大学生数学建模竞赛 省二等奖",
        "E2 是否达成": "是", "E2 竞赛或论文名称": "《全生异科导师制实践》已核实发表",
    }  # fmt: skip
    assert "E1" not in columns and wang[columns["加分"]] == 5  # once, however many
    other = next(
        row for row in rows if row[columns["考核学院"]] == "计算机与物联网学院" and row is not wang
    )
    assert (other[columns["E1 是否达成"]], other[columns["E1 竞赛或论文名称"]]) == ("否", None)
    with database.session() as session:  # results stored before the names were: still named
        snapshot = session.scalars(sa.select(ResultSnapshot).order_by(ResultSnapshot.id)).all()[-1]
        snapshot.mentors = [
            {k: v for k, v in entry.items() if k != "notes"} for entry in snapshot.mentors
        ]
        session.commit()
        book = export.results_workbook(session, session.scalar(sa.select(AssessmentCycle)))
    [_header, *again] = load_workbook(io.BytesIO(book)).active.iter_rows(values_only=True)
    assert again == rows
    late = next(row for row in rows if row[columns["考核学院"]] == "数字经济学院")
    assert late[columns["E1 是否达成"]] is None  # not scored (the college is late)
