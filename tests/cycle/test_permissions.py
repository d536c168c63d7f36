"""Every role against every result view and export; the command line; the self-assessment."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AssessmentCycle,
    EvidenceFile,
    EvidenceStatus,
    ItemScore,
    Person,
    Role,
    ScoreSource,
    Submission,
    Unit,
)
from bot.core.storage import FileStore
from bot.cycle import closing, cycles, opening, progress, publication, submissions
from bot.cycle.cycles import Env
from bot.cycle.results import members, rubric_of, source_of
from bot.cycle.submissions import Scope
from bot.roster.holders import holders
from tests.cycle.conftest import Browser
from tests.cycle.test_journey import COLLEGE_ITEMS

ENV = Env("http://bot.example", ZoneInfo("Asia/Shanghai"))


def _person(session, userid: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.userid == userid))


def _publish(app, database, *, close: bool = False) -> int:
    """Open, score everything (services, no pages), submit, publish (and close)."""
    now = datetime.now(UTC)
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(session, year_code="2025-2026", actor=office, now=now, env=ENV)
        rubric = rubric_of(cycle)
        for number, member in enumerate(members(session, cycle)):
            for item in rubric.scored_items:
                session.add(
                    ItemScore(
                        cycle_id=cycle.id,
                        mentor_id=member.person.id,
                        item=item.id,
                        source=source_of(rubric, item.id),
                        tenths=int(item.max * 10) - number % 3,
                        given_by_id=office.id,
                        given_at=now,
                    )
                )
        session.flush()
        submissions.submit(session, cycle, Scope("academy", None), actor=office, now=now)
        for college in cycles.colleges(session, cycle):
            admin = holders(session, Role.COLLEGE_ADMIN, unit_id=college.id)[0]
            submissions.submit(
                session, cycle, Scope(f"college-{college.id}", college.id), actor=admin, now=now
            )
        publication.publish(session, cycle, actor=office, now=now, env=ENV, force=True)
        if close:
            closing.close(session, cycle, actor=office, now=now + timedelta(days=30), env=ENV)
        return cycle.id


def _summary(app, database, userid: str) -> int:
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    stored = store.put(b"%PDF-1.4 summary", ".pdf", datetime.now(UTC))
    with database.session() as session:
        evidence = EvidenceFile(
            owner_id=_person(session, userid).id,
            purpose="annual_summary",
            storage_key=stored.key,
            filename="总结.pdf",
            content_type="application/pdf",
            size=stored.size,
            sha256=stored.sha256,
            status=EvidenceStatus.STORED,
            created_at=datetime.now(UTC),
        )
        session.add(evidence)
        session.flush()
        return evidence.id


PEOPLE = [
    "shuyuan_admin",
    "cs_admin",
    "ice_admin",
    "cs_dean",
    "ice_dean",
    "liulaoshi",
    "wanglaoshi",
    "zhangsan",
    "chenjing",
    "sysadmin",
]
# view → the people who may open it (everyone else gets 403)
ALLOWED = {
    "hub_cs": {"shuyuan_admin", "cs_admin"},
    "workbook_cs": {"shuyuan_admin", "cs_admin"},
    "hub_academy": {"shuyuan_admin"},
    "workbook_academy": {"shuyuan_admin"},
    "results_school": {"shuyuan_admin"},
    "results_cs": {"shuyuan_admin", "cs_admin", "cs_dean"},
    "results_unit_lib": {"shuyuan_admin", "liulaoshi"},
    "results_unit_ice": {"shuyuan_admin", "ice_dean"},
    "me": {"liulaoshi", "wanglaoshi"},
    "summary_wang": {"shuyuan_admin", "cs_admin", "wanglaoshi"},
    "export_outstanding": {"shuyuan_admin"},
    "export_history": {"shuyuan_admin"},
    "export_results": {"shuyuan_admin"},
}


def test_every_role_against_every_view(app, database, demo, phone):
    cycle_id = _publish(app, database, close=True)
    summary_id = _summary(app, database, "wanglaoshi")
    base = f"/m/cycle/{cycle_id}"
    views = {
        "hub_cs": f"{base}/scores/college-{demo['CS']}",
        "workbook_cs": f"{base}/scores/college-{demo['CS']}/workbook.xlsx",
        "hub_academy": f"{base}/scores/academy",
        "workbook_academy": f"{base}/scores/academy/workbook.xlsx",
        "results_school": f"{base}/results.xlsx",
        "results_cs": f"{base}/results.xlsx?college={demo['CS']}",
        "results_unit_lib": f"{base}/results.xlsx?unit={demo['LIB']}",
        "results_unit_ice": f"{base}/results.xlsx?unit={demo['ICE']}",
        "me": f"{base}/me",
        "summary_wang": f"/m/cycle/summary/{summary_id}",
        "export_outstanding": f"{base}/export/outstanding.xlsx",
        "export_history": f"{base}/export/history.xlsx",
        "export_results": f"{base}/export/results.xlsx",
    }
    outcome = {}
    for userid in PEOPLE:
        browser = Browser(app, userid)
        for view, path in views.items():
            outcome[(userid, view)] = browser.get(path).status_code
    expected = {
        (userid, view): 200 if userid in ALLOWED[view] else 403
        for userid in PEOPLE
        for view in views
    }
    assert outcome == expected

    # what an allowed view holds: only that scope's mentors
    cs = Browser(app, "cs_admin").get(views["results_cs"]).data
    colleges = {row[3].value for row in load_workbook(io.BytesIO(cs)).active.iter_rows(min_row=2)}
    assert colleges == {"计算机与物联网学院"}
    lib = Browser(app, "liulaoshi").get(views["results_unit_lib"]).data
    units = {row[2].value for row in load_workbook(io.BytesIO(lib)).active.iter_rows(min_row=2)}
    assert units == {"图书馆"}
    mine = Browser(app, "wanglaoshi").get(views["me"]).text
    assert "总分" in mine and "赵敏" not in mine

    # commands: students and mentors see nothing of others' results
    for userid in ("zhangsan", "wanglaoshi", "cs_admin"):
        phone.say(userid, "导出")
        assert "只有书院部管理员" in phone.last_text(userid)
        phone.say(userid, "公示")
        assert "只有书院部管理员" in phone.last_text(userid)
    phone.say("zhangsan", "考核结果")
    assert "学年考核面向异科导师" in phone.last_text("zhangsan")  # nothing of anyone's result
    phone.say("wanglaoshi", "考核结果")
    card = phone.last_card("wanglaoshi")
    assert card["main_title"]["desc"].startswith("王建国：总分")


def test_views_before_publication_and_unknown_things(app, database, demo):
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        cycle_id = cycle.id
    office = Browser(app, "shuyuan_admin")
    assert office.get(f"/m/cycle/{cycle_id}/results.xlsx").status_code == 404
    assert office.get(f"/m/cycle/{cycle_id}/export/results.xlsx").status_code == 404
    assert office.get(f"/m/cycle/{cycle_id}/scores/nonsense").status_code == 404
    assert office.get(f"/m/cycle/{cycle_id + 1}/scores/academy").status_code == 404
    anonymous = app.test_client().get(f"/m/cycle/{cycle_id}/scores/academy")
    assert anonymous.status_code == 302 and "oauth2/authorize" in anonymous.location


def test_self_assessment_bonus_items_are_optional_yes_or_no(app, database, demo):
    """E1 and E2 are achieved or not (是/否) and may be left out; they were compulsory numbers."""
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        cycle_id = cycle.id
    wang = Browser(app, "wanglaoshi")
    page = wang.get(f"/m/cycle/{cycle_id}/self").text
    for item in ("E1", "E2"):
        assert f'type="radio" name="{item}" value="yes"' in page
        assert f'type="radio" name="{item}" value="no" checked' in page
        assert f'<input name="{item}"' not in page
    assert "可选" in page
    form = {item: "1" for item in COLLEGE_ITEMS} | {"A1": "9", "A2": "3", "A3": "3"}
    good = wang.post(f"/m/cycle/{cycle_id}/self", data=form)  # no E1, no E2
    assert good.status_code == 200 and "自评已保存" in good.text

    def bonus() -> dict[str, int]:
        with database.session() as session:
            scores = session.scalars(
                sa.select(ItemScore).where(
                    ItemScore.source == ScoreSource.SELF, ItemScore.item.in_(["E1", "E2"])
                )
            )
            return {s.item: s.tenths for s in scores}

    assert bonus() == {"E1": 0, "E2": 0}
    unnamed = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "E1": "yes", "E2": "no"})
    assert unnamed.status_code == 400
    assert "E1：选“是”时请写明竞赛或论文名称" in unnamed.text
    assert bonus() == {"E1": 0, "E2": 0}
    named = {**form, "E1": "yes", "E1_note": "全国大学生数学建模竞赛", "E2": "no"}
    again = wang.post(f"/m/cycle/{cycle_id}/self", data=named)
    assert again.status_code == 200
    assert bonus() == {"E1": 50, "E2": 0}
    assert 'name="E1" value="yes" checked' in again.text
    assert 'value="全国大学生数学建模竞赛"' in again.text
    with database.session() as session:  # the college sees the claim with its name
        cycle = session.get(AssessmentCycle, cycle_id)
        college = next(
            m for m in members(session, cycle) if m.person.userid == "wanglaoshi"
        ).college
        _name, content = submissions.build_workbook(
            session, cycle, Scope(f"college-{college.id}", college.id), ENV
        )
    cells = [c.value for row in load_workbook(io.BytesIO(content)).active.iter_rows() for c in row]
    assert "是（全国大学生数学建模竞赛）" in cells
    bad = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "E1": "3"})
    assert bad.status_code == 400 and "E1：请选择“是”或“否”" in bad.text
    assert bonus() == {"E1": 50, "E2": 0}


def test_self_assessment_page(app, database, demo):
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        cycle_id = cycle.id
    wang = Browser(app, "wanglaoshi")
    page = wang.get(f"/m/cycle/{cycle_id}/self")
    assert page.status_code == 200
    assert "M1 " in page.text and "个教学周" in page.text  # evidence beside the item
    assert Browser(app, "zhangsan").get(f"/m/cycle/{cycle_id}/self").status_code == 403
    form = {item: "1" for item in COLLEGE_ITEMS}
    form |= {"A1": "9", "A2": "3", "A3": "3", "E1": "0", "E2": "0"}
    bad = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "B1": "2.55", "M1": "x"})
    assert bad.status_code == 400
    assert "B1：须在 0–2 之间" in bad.text and "M1：“x”不是数字" in bad.text
    long = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "M1": "y\n" + "y" * 5000})
    assert f"M1：“y {'y' * 18}…”不是数字" in long.text  # quoted short, on one line
    good = wang.post(f"/m/cycle/{cycle_id}/self", data=form)
    assert good.status_code == 200 and "自评已保存" in good.text
    with database.session() as session:
        scores = session.scalars(
            sa.select(ItemScore).where(ItemScore.source == ScoreSource.SELF)
        ).all()
        assert len(scores) == 19
        assert {s.item: s.tenths for s in scores}["A1"] == 90
        # the college's workbook shows it beside the score column
        cycle = session.get(AssessmentCycle, cycle_id)
        cs = session.scalar(sa.select(Unit).where(Unit.code == "CS"))
        _name, content = submissions.build_workbook(
            session, cycle, Scope(f"college-{cs.id}", cs.id), ENV
        )
    sheet = load_workbook(io.BytesIO(content)).active
    headers = {sheet.cell(3, c).value: c for c in range(1, sheet.max_column + 1)}
    wang_row = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 2).value == "王建国")
    assert sheet.cell(wang_row, headers["B1 自评"]).value == 1
    assert Decimal(str(sheet.cell(wang_row, headers["M1 建议分"]).value)) >= 0
    service_progress = progress.self_progress
    with database.session() as session:
        assert service_progress(session, session.get(AssessmentCycle, cycle_id))[0] == 1


@pytest.mark.parametrize("command", ["progress", "publish", "close"])
def test_command_line_without_a_cycle(runner, command):
    result = runner.invoke(args=["cycle", command])
    assert result.exit_code != 0
    assert "还没有开启的考核" in result.output


def test_command_line_cycle(app, runner, database, demo, tmp_path):
    opened = runner.invoke(args=["cycle", "open", "2025-2026", "--deadlines", "college=2099-09-10"])
    assert opened.exit_code == 0, opened.output
    progress = runner.invoke(args=["cycle", "progress"])
    assert "数字经济学院：已评 0/6 位，未提交" in progress.output
    refused = runner.invoke(args=["cycle", "publish"])
    assert refused.exit_code != 0 and "尚未提交" in refused.output
    published = runner.invoke(args=["cycle", "publish", "--force"])
    assert "已公示" in published.output
    early = runner.invoke(args=["cycle", "close"])
    assert early.exit_code != 0 and "异议期内不能结束考核" in early.output
    closed = runner.invoke(args=["cycle", "close", "--force", "--reason", "演示：提前结束"])
    assert "考核已结束" in closed.output and "原因：演示：提前结束" in closed.output
    assert "20 位导师结果未完成：" in closed.output  # nobody was scored
    target = tmp_path / "results.xlsx"
    exported = runner.invoke(args=["cycle", "export", "results", str(target)])
    assert exported.exit_code == 0
    assert load_workbook(target).active.max_row == 21
    bad = runner.invoke(args=["cycle", "open", "2024-2025", "--deadlines", "lunch=2099-01-01"])
    assert bad.exit_code != 0


def test_overdue_steps_are_reminded_by_the_scheduler_then_escalated(app, database, demo, phone):
    """The cycle's deadlines drive the scheduler's assessment calendar: the late are reminded
    each working day, their college head (the academy's head for the office) once."""
    from bot.cycle.reminders import assessment_calendar
    from tests.scheduler.conftest import RULES

    opened = datetime(2026, 8, 31, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=opened, env=ENV,
            deadlines={"self": "2026-09-07", "college": "2026-09-14", "academy": "2026-09-14"},
        )  # fmt: skip
        mentors = len(members(session, cycle))
    tuesday = datetime(2026, 9, 15, 9, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    first = assessment_calendar(database, tuesday, rules=RULES)
    assert assessment_calendar(database, tuesday, rules=RULES) == 0  # once a day
    college_admins, academy_admins, colleges = 4, 2, 3
    # late: every mentor, every college's admins, the office; heads: each college for its
    # late mentors and for itself, and the academy's head
    assert first == mentors + college_admins + academy_admins + colleges + colleges + 1
    wednesday = datetime(2026, 9, 16, 9, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    again = assessment_calendar(database, wednesday, rules=RULES)
    assert again == mentors + college_admins + academy_admins  # the heads heard it once
    assert "我的考核" in phone.last_text("wanglaoshi")
    dean = [p["text"]["content"] for p in phone.new("cs_dean") if p["msgtype"] == "text"]
    assert any("王建国" in text and "尚未完成" in text for text in dean)
    assert any("计算机与物联网学院尚未完成" in text for text in dean)
    assert "书院部尚未完成" in phone.last_text("shuyuan_head")
    with database.session() as session:  # CS submits: its admin and head hear no more
        cs = session.scalar(sa.select(Unit).where(Unit.code == "CS"))
        admin = _person(session, "cs_admin")
        session.add(
            Submission(
                cycle_id=cycle.id, step="college", subject_id=cs.id,
                submitted_by_id=admin.id, submitted_at=wednesday,
            )
        )  # fmt: skip
    phone.new("cs_admin")
    assessment_calendar(
        database, datetime(2026, 9, 17, 9, 23, tzinfo=ZoneInfo("Asia/Shanghai")), rules=RULES
    )
    assert phone.new("cs_admin") == []


def test_self_assessment_refuses_numbers_that_are_not_finite(app, database, demo):
    with database.session() as session:
        office = _person(session, "shuyuan_admin")
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        cycle_id = cycle.id
    wang = Browser(app, "wanglaoshi")
    form = {item: "1" for item in COLLEGE_ITEMS}
    form |= {"A1": "9", "A2": "3", "A3": "3", "E1": "0", "E2": "0"}
    for value in ("NaN", "sNaN", "-nan", "Infinity", "-Inf", "1e999999999", "1e-999999999"):
        page = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "B1": value})
        assert page.status_code == 400, value
        assert "B1：" in page.text, value
    full_width = wang.post(f"/m/cycle/{cycle_id}/self", data={**form, "B1": "１.５"})
    assert full_width.status_code == 200 and "自评已保存" in full_width.text
    with database.session() as session:
        scores = session.scalars(
            sa.select(ItemScore).where(ItemScore.source == ScoreSource.SELF)
        ).all()
        assert {s.item: s.tenths for s in scores}["B1"] == 15


HUGE = "99999999999999999999"


def test_ids_out_of_range_in_page_addresses_are_not_found(app, database, demo):
    cycle_id = _publish(app, database)
    office, cs_admin = Browser(app, "shuyuan_admin"), Browser(app, "cs_admin")
    for path in (
        f"/m/cycle/{HUGE}/self",
        f"/m/cycle/{HUGE}/me",
        f"/m/cycle/{HUGE}/scores/academy",
        f"/m/cycle/{cycle_id}/scores/college-{HUGE}",
        f"/m/cycle/{cycle_id}/scores/college-²",
        f"/m/cycle/summary/{HUGE}",
        f"/m/cycle/{HUGE}/results.xlsx",
    ):
        page = office.get(path)
        assert page.status_code == 404, path
        assert "没有" in page.text or "还没有公示" in page.text, path
    for query in (f"college={HUGE}", f"unit={HUGE}", "college=²", "unit=-1"):
        path = f"/m/cycle/{cycle_id}/results.xlsx?{query}"
        assert cs_admin.get(path).status_code == 403, path
        assert office.get(path).status_code in (200, 404), path
