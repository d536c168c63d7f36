"""The multi-year record (第七条) HR downloads from its page: the mentor's own unit, the points
of each part, the rank "k / n" in the college, and why a mentor was left incomplete."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.cycle.conftest import Browser
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import _score_college
from tests.cycle.test_oversight import HR, JWC, _import, _score_academy

HEADERS = [
    "工号", "姓名", "学年", "所在单位", "考核学院", "学院考核", "书院部考核", "满意度得分",
    "加分", "总分", "学院排名", "优秀导师", "备注",
]  # fmt: skip


def test_the_history_names_unit_parts_rank_and_why_incomplete(app, database, demo, phone):
    _import(database, HR, JWC)
    hr = Browser(app, "hr_qian")
    open_confirmed(phone)
    _score_college(app, database, "cs_admin")  # every B and M at its maximum but M1 at 0
    _score_college(app, database, "ice_admin")
    _score_academy(app, database)  # A1 9.5, A2 5, A3 4; 数字经济学院 never scores
    phone.say("shuyuan_admin", "公示 强制")
    phone.say("shuyuan_admin", "结束考核 强制 数字经济学院未评分，历史记录须注明")
    assert "考核已结束" in phone.last_text("shuyuan_admin")

    answer = hr.get("/m/cycle/history.xlsx")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    by_number = {row[0]: dict(zip(HEADERS, row, strict=True)) for row in rows[1:]}
    assert len(by_number) == 20

    wang = by_number["19980001"]
    assert (wang["姓名"], wang["学年"]) == ("王建国", "2025-2026")
    assert (wang["所在单位"], wang["考核学院"]) == ("通信与信息工程学院", "计算机与物联网学院")
    assert (wang["学院考核"], wang["书院部考核"], wang["加分"]) == (52, 18.5, 0)
    assert wang["总分"] == wang["学院考核"] + wang["书院部考核"] + wang["满意度得分"]
    rank, of = wang["学院排名"].split(" / ")
    assert 1 <= int(rank) <= 7 and of == "7"

    liu = by_number["20030002"]  # assessed by the college that never scored
    assert (liu["所在单位"], liu["考核学院"]) == ("图书馆", "数字经济学院")
    assert liu["总分"] is None and liu["学院排名"] in (None, "")
    assert liu["备注"].startswith("结果未完成：缺 B1、B2")
    assert "A1" not in liu["备注"]  # the office scored everyone's A items
