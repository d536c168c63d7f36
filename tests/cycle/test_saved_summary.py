"""After a college saves its scoring workbook, the admin gets a short note: scores and mentors
counted, a line for each of the first few mentors, and the page's link (not every score)."""

from __future__ import annotations

from decimal import Decimal

from bot.cycle.submissions import SUMMARY_MENTORS, Change, saved_summary
from tests.cycle.conftest import outbox_for
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import _score_college


def test_saving_a_workbook_sends_a_summary_per_mentor_with_the_page(app, database, demo, phone):
    open_confirmed(phone)
    assert "已开启" in phone.last_text("shuyuan_admin")
    before = len(outbox_for(database, "cs_admin"))
    hub = _score_college(app, database, "cs_admin")
    [note] = [r.payload for r in outbox_for(database, "cs_admin")[before:]]
    text = note["markdown"]["content"]
    lines = text.splitlines()
    assert lines[0].startswith("**已保存计算机与物联网学院") and "（7 位导师）" in lines[0]
    assert len(lines) <= SUMMARY_MENTORS + 4, text  # a few lines, never every score
    assert sum(1 for line in lines if line.startswith("> ") and "：" in line) == SUMMARY_MENTORS
    assert "……另有 2 位导师" in text and "另有 24" not in text
    assert f"{hub})" in text  # the page with every score


def test_a_summary_of_one_mentor_names_the_items():
    changes = [Change("1001", "王建国", f"X{i}", None, Decimal(i)) for i in range(1, 6)]
    text = saved_summary("计算机学院", changes, "https://x/hub").content["content"]
    assert "5 项评分（1 位导师）" in text
    assert "> 王建国（1001）：X1 1、X2 2、X3 3 等 5 项" in text and "另有" not in text
