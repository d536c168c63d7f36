"""The whole assessment cycle with the demo university, through signed callbacks and the
in-app pages: opening, a bad workbook, good workbooks, a late college, publication anyway,
an objection that leads to a correction and a changed ranking, closing and exports."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image

from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    Correction,
    CycleStatus,
    ItemScore,
    Objection,
    Person,
    ScoreSource,
    Submission,
)
from bot.core.storage import FileStore
from bot.cycle import export
from bot.cycle.results import compute
from tests.cycle.conftest import Browser, outbox_for, path_of, save, workbook_rows
from tests.cycle.test_cycle_order import open_confirmed
from tests.fonts import cjk_font_installed

COLLEGE_ITEMS = ["B1", "B2", "B3", "B4", "B5", "B6", "M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8"]
MAXIMA = {"B1": 2, "B2": 2, "B3": 2, "B4": 5, "B5": 4, "B6": 5, "M1": 8, "M2": 7, "M3": 3}
MAXIMA |= {"M4": 4, "M5": 4, "M6": 5, "M7": 5, "M8": 4, "E1": 5, "E2": 5}


def _hub_path(database, userid: str) -> str:
    cards = [r for r in outbox_for(database, userid) if r.msgtype == "template_card"]
    return path_of(cards[-1].payload["template_card"]["card_action"]["url"])


def _fill_college(content: bytes) -> bytes:
    """Every B and M item at its maximum except M1 at 0; no bonus."""
    book, sheet, headers = workbook_rows(content)
    for row in range(4, sheet.max_row + 1):
        for item in COLLEGE_ITEMS:
            column = next(c for h, c in headers.items() if h and h.startswith(f"{item} 评分"))
            sheet.cell(row, column, 0 if item == "M1" else MAXIMA[item])
    return save(book)


def _fill_academy(content: bytes) -> bytes:
    book, sheet, headers = workbook_rows(content)
    for row in range(4, sheet.max_row + 1):
        for item, value in (("A1", 9.5), ("A2", 5), ("A3", 4)):
            column = next(c for h, c in headers.items() if h and h.startswith(f"{item} 评分"))
            sheet.cell(row, column, value)
    return save(book)


def _score_college(app, database, userid: str) -> str:
    hub = _hub_path(database, userid)
    browser = Browser(app, userid)
    page = browser.get(hub)
    assert page.status_code == 200, page.text
    workbook = browser.get(hub + "/workbook.xlsx")
    assert workbook.status_code == 200
    confirm = browser.upload(hub + "/upload", _fill_college(workbook.data))
    assert confirm.status_code == 200, confirm.text
    assert "确认保存" in confirm.text
    saved = browser.post(hub + "/confirm")
    assert "已保存" in saved.text
    return hub


def _text(payload) -> str:
    return payload[payload["msgtype"]]["content"]


def _files(app) -> FileStore:
    return FileStore.from_settings(app.extensions["settings"], app.instance_path)


def _cells(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def _assert_chart(app, image: dict) -> None:
    """The outbox row names a PNG chart in the file store (never its bytes)."""
    assert set(image) == {"storage_key", "filename"}
    assert image["filename"].endswith("考核图表.png")
    with Image.open(io.BytesIO(_files(app).read(image["storage_key"]))) as png:
        assert (png.format, png.size) == ("PNG", (880, 990))


def _assert_digest_and_chart(app, news: list[dict]) -> None:
    """The digest, then its chart; without a CJK font, the digest alone."""
    if not cjk_font_installed():
        assert [p["msgtype"] for p in news] == ["markdown"]
        return
    assert [p["msgtype"] for p in news] == ["markdown", "image"]
    _assert_chart(app, news[1]["image"])


def end_objection_period(database, cycle_id: int) -> None:
    """The days pass: the objection period ended yesterday."""
    with database.session() as session:
        cycle = session.get(AssessmentCycle, cycle_id)
        cycle.objections_until = datetime.now(UTC) - timedelta(days=1)
        session.commit()


def late_college(app, database, phone) -> None:
    """After 公示 强制 without 数字经济学院: its admin cannot upload any more and is sent to the
    office; the office uploads the college's workbook, gives a reason, and every score becomes a
    correction; the college's mentors get their ranked result, its head the ranking, its admin
    and the office a note naming the outstanding mentors. The objection period had ended: it
    is extended so that the late college's mentors have the whole of it."""
    with database.session() as session:
        end_objection_period(database, session.scalar(sa.select(AssessmentCycle.id)))
    de_hub = _hub_path(database, "de_admin")
    de_browser = Browser(app, "de_admin")
    filled = _fill_college(de_browser.get(de_hub + "/workbook.xlsx").data)
    refused = de_browser.upload(de_hub + "/upload", filled)
    assert refused.status_code == 400 and "由书院部补录" in refused.text
    office = Browser(app, "shuyuan_admin")
    assert "书院部可以上传本学院填好的评分表补录" in office.get(de_hub).text
    book, sheet, headers = workbook_rows(filled)
    sheet.cell(4, headers["B1 评分（满分 2）"]).value = None  # a mentor left without B1
    partial = office.upload(de_hub + "/upload", save(book))
    assert partial.status_code == 400 and "须评全本学院每位导师" in partial.text
    confirm = office.upload(de_hub + "/upload", filled)
    assert "补录原因" in confirm.text and "确认补录" in confirm.text
    no_reason = office.post(de_hub + "/confirm")
    assert no_reason.status_code == 400 and "请写明补录的原因" in no_reason.text
    for userid in ("liulaoshi", "de_dean", "de_admin", "wanglaoshi"):
        phone.new(userid)
    done = office.post(de_hub + "/confirm", data={"reason": "学院逾期提交，经书院部核对"})
    assert "数字经济学院的逾期评分已由书院部补录（84 项" in done.text
    assert "本学院 6/6 位导师结果已完成" in done.text and "异议期延长至" in done.text
    with database.session() as session:
        late = session.scalars(
            sa.select(Correction).where(Correction.reason.startswith("逾期补录"))
        ).all()
        assert len(late) == 6 * 14 and all(c.old_tenths is None for c in late)
        assert all("学院逾期提交，经书院部核对" in c.reason for c in late)
    liu = phone.last_card("liulaoshi")
    assert "已更新" in liu["main_title"]["title"] and "学院排名第" in liu["main_title"]["desc"]
    assert liu["button_list"][0]["text"] == "提出异议"
    digest = _text(phone.new("de_dean")[0])
    assert "数字经济学院 2025-2026 学年导师考核排名（公示）" in digest and "优秀导师" in digest
    assert "逾期评分已由书院部补录" in phone.last_text("de_admin")
    assert not phone.new("wanglaoshi")  # another college's mentor: nothing changed for him
    phone.say("shuyuan_admin", "进度")
    assert "数字经济学院：已提交" in phone.last_text("shuyuan_admin")


def test_the_whole_cycle(app, database, demo, phone):
    # 1. opening: refused for a student, done by the office; everyone concerned is told
    phone.say("zhangsan", "开启考核 2025-2026")
    assert "只有书院部管理员" in phone.last_text("zhangsan")
    open_confirmed(phone, "开启考核 2025-2026 学院 2099-09-10")  # a plan card, then 确认开启
    assert "已开启 2025-2026 学年考核" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", "开启考核 2025-2026")
    assert "已经开启过了" in phone.last_text("shuyuan_admin")
    assert "考核已开启" in _text(phone.new("wanglaoshi")[-1])
    cs_card = phone.last_card("cs_admin")
    assert cs_card["horizontal_content_list"] == [{"keyname": "截止", "value": "2099-09-10"}]
    assert "计算机与物联网学院" in cs_card["main_title"]["title"]
    with database.session() as session:
        cycle_id = session.scalar(sa.select(AssessmentCycle.id))
    phone.say("wanglaoshi", "我的考核")  # also the menu 我的 → 我的考核
    mine = phone.last_text("wanglaoshi")
    assert "您还没有提交自评" in mine and f"/m/cycle/{cycle_id}/self" in mine
    phone.say("zhangsan", "我的考核")
    assert "学年考核面向异科导师" in phone.last_text("zhangsan")

    # 2. a college admin: only their college's workbook; a bad workbook → every problem
    cs_hub = _hub_path(database, "cs_admin")
    ice_hub = _hub_path(database, "ice_admin")
    cs_browser = Browser(app, "cs_admin")
    assert cs_browser.get(ice_hub).status_code == 403
    assert cs_browser.get(ice_hub + "/workbook.xlsx").status_code == 403
    content = cs_browser.get(cs_hub + "/workbook.xlsx").data
    book, sheet, headers = workbook_rows(content)
    assert "B4 评分（满分 5）" in headers and "M8 评分（满分 4）" in headers
    assert "E1 是否达成（是/否）" in headers and "E1 竞赛或论文名称" in headers
    assert "A1 评分（满分 10）" not in headers
    assert "B4 建议分" in headers and "M1 记录情况" in headers and "年度工作总结" in headers
    assert sheet.max_row - 3 == 7  # the college's 7 mentors
    assert "个教学周" in str(sheet.cell(4, headers["M1 记录情况"]).value)
    sheet.cell(4, headers["B1 评分（满分 2）"], 3)
    sheet.cell(5, headers["B2 评分（满分 2）"], 1.25)
    sheet.cell(6, headers["B3 评分（满分 2）"], "=1+1")
    sheet.cell(7, 1, "99999999")
    bad = cs_browser.upload(cs_hub + "/upload", save(book))
    assert bad.status_code == 400
    assert "第 4 行 D 列（B1）：分数 3 超出 0–2" in bad.text
    assert "第 5 行 E 列（B2）：分数 1.25 超过 1 位小数" in bad.text
    assert "第 6 行 F 列（B3）：不能使用公式" in bad.text
    assert "第 7 行：工号 99999999 不是本表范围内的导师" in bad.text
    not_a_book = cs_browser.upload(cs_hub + "/upload", b"%PDF-1.4 nope", "评分表.xlsx")
    assert "这不是 Excel 工作簿" in not_a_book.text
    del sheet
    book2, sheet2, headers2 = workbook_rows(content)
    sheet2.delete_cols(headers2["B5 评分（满分 4）"])
    missing = cs_browser.upload(cs_hub + "/upload", save(book2))
    assert "缺少列：B5 评分（满分 4）" in missing.text
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(ItemScore.id))) == 0

    # good workbooks for CS and ICE, confirmed; resent once (no changes); submitted by a tap
    _score_college(app, database, "cs_admin")
    again = cs_browser.upload(cs_hub + "/upload", _fill_college(content))
    assert "没有需要保存的修改" in again.text
    _score_college(app, database, "ice_admin")
    with database.session() as session:
        scores = session.scalars(sa.select(ItemScore)).all()
        assert len(scores) == 14 * 14
        admin = session.scalar(sa.select(Person).where(Person.userid == "cs_admin"))
        assert {s.given_by_id for s in scores} >= {admin.id}
        assert session.scalar(
            sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "score")
        ) == len(scores)
    card = phone.last_card("cs_admin") if False else cs_card
    submit_key = card["button_list"][0]["key"]
    phone.tap("cs_admin", card, submit_key)  # before the office's A scores: asked to confirm
    assert "书院部尚未提交 A 项" in phone.last_text("cs_admin")
    phone.say("cs_admin", "提交评分 确认")
    assert "已提交计算机与物联网学院的评分" in phone.last_text("cs_admin")
    after_submit = cs_browser.upload(cs_hub + "/upload", _fill_college(content))
    assert "已经提交" in after_submit.text
    phone.say("ice_admin", "提交评分 确认")
    assert "已提交" in phone.last_text("ice_admin")
    phone.say("de_admin", "提交评分")
    assert "评分不完整" in phone.last_text("de_admin")

    # 3. the academy office: A items of all mentors
    office = Browser(app, "shuyuan_admin")
    academy_hub = _hub_path(database, "shuyuan_admin")
    assert academy_hub.endswith("/scores/academy")
    assert cs_browser.get(academy_hub).status_code == 403
    academy_book = office.get(academy_hub + "/workbook.xlsx").data
    assert load_workbook(io.BytesIO(academy_book)).active.max_row - 3 == 20
    confirm = office.upload(academy_hub + "/upload", _fill_academy(academy_book))
    assert "A1：未评 → 9.5" in confirm.text
    office.post(academy_hub + "/confirm")
    phone.say("shuyuan_admin", "提交评分")
    assert "已提交书院部的评分" in phone.last_text("shuyuan_admin")
    assert "书院部已提交" in phone.last_text("cs_admin")

    # 4. progress: the late college is named; a college admin sees their college only
    phone.say("shuyuan_admin", "进度")
    progress = phone.last_text("shuyuan_admin")
    assert "计算机与物联网学院：已提交" in progress
    assert "数字经济学院：已评 0/6 位，未提交" in progress
    assert "尚未提交评分：数字经济学院" in progress
    assert "导师自评：0/20 位已提交；尚未提交：王建国、" in progress and "等 20 位" in progress
    assert "可以发送“公示”" not in progress and "公示 强制" in progress
    phone.say("cs_admin", "进度")
    mine = phone.last_text("cs_admin")
    assert "计算机与物联网学院" in mine and "数字经济学院" not in mine
    phone.say("zhangsan", "进度")
    assert "只对书院部和学院管理员开放" in phone.last_text("zhangsan")

    # 5. publication: refused while a college is missing, then published anyway
    phone.say("shuyuan_admin", "公示")
    refusal = phone.last_text("shuyuan_admin")
    assert "尚未提交评分：数字经济学院" in refusal and "尚未提交自评的导师：王建国、" in refusal
    assert "公示 强制" in refusal
    phone.say("shuyuan_admin", "公示 强制")
    office_news = phone.new("shuyuan_admin")
    published = "\n".join(_text(p) for p in office_news if p["msgtype"] in ("text", "markdown"))
    assert "已公示" in published and "缺少：数字经济学院" in published
    [workbook_file] = [p["file"] for p in office_news if p["msgtype"] == "file"]
    assert workbook_file["filename"] == "2025-2026-全校导师考核结果（公示）.xlsx"
    with database.session() as session:
        expected = export.results_workbook(session, session.get(AssessmentCycle, cycle_id))
    assert _cells(_files(app).read(workbook_file["storage_key"])) == _cells(expected)
    assert len(_cells(expected)) == 1 + 20  # the header and every mentor of the school
    result = phone.last_card("wanglaoshi")
    assert result["button_list"][0]["text"] == "提出异议"
    assert "学院排名第" in result["main_title"]["desc"]
    liu = phone.last_card("liulaoshi")  # assessed by the late college
    assert "结果未完成" in liu["main_title"]["desc"]
    dean_news = phone.new("cs_dean")
    _assert_digest_and_chart(app, dean_news)
    digest = _text(dean_news[0])
    assert "计算机与物联网学院 2025-2026 学年导师考核排名（公示）" in digest
    assert "王建国" in digest
    assert "王建国" in phone.last_text("ice_dean")  # head of his own unit
    phone.say("shuyuan_admin", "进度")
    after = phone.last_text("shuyuan_admin")
    assert "（公示中）" in after and "可以" not in after and "公示 强制" not in after
    assert "逾期未提交评分：数字经济学院" in after
    with database.session() as session:
        cycle = session.get(AssessmentCycle, cycle_id)
        assert cycle.status == CycleStatus.PUBLISHED and cycle.objections_until is not None
        before = compute(session, cycle)
        people = {m.person.id: m.person for m in before.members}
        cs = [m.person.id for m in before.members if m.college.code == "CS"]
        ranked = sorted(cs, key=lambda pid: before.of(pid).total, reverse=True)
        low = ranked[-1]
        target = next(pid for pid in ranked if 0 < before.of(pid).total - before.of(low).total < 8)
        low_user, target_user = people[low].userid, people[target].userid
        low_rank, target_rank = before.of(low).rank, before.of(target).rank

    # 6. an objection reaches the office and the college; a correction needs a reason
    phone.new(low_user)
    detail = Browser(app, low_user).get(path_of(result["card_action"]["url"]))  # 查看详情
    assert detail.status_code == 200
    for item in [*MAXIMA, "A1", "S1"]:  # every item's score beside the evidence counted
        assert f'id="item-{item}"' in detail.text
    assert "个教学周达到" in detail.text  # M1's figures beside its score
    assert re.search(  # the percentage only where no thinly rated activity could be worked out
        r"满意度 [0-9.]+%，在 [0-9.]+–[0-9.]+% 档，得 \d+ 分"
        r"|满意度得 \d+ 分（部分活动评价人数不足，不显示百分比）",
        detail.text,
    )
    phone.tap(low_user, result, result["button_list"][0]["key"])  # 提出异议: a small flow
    card = phone.last_card(low_user)
    assert card["main_title"]["title"] == "提出异议：哪一项（第1/2页）"
    assert card["checkbox"]["option_list"][0]["text"].startswith("B1 ")
    phone.tap(low_user, card, card["submit_button"]["key"], [("item", [])])
    refused, card = phone.new(low_user)  # nothing ticked: said, and the card again
    assert "请选择一个考核项目" in _text(refused)
    card = card["template_card"]
    phone.tap(low_user, card, card["submit_button"]["key"], [("item", ["M1"])])
    assert "异议项目：M1" in phone.last_text(low_user)
    phone.say(low_user, "我每周都有两次以上交流，记录在台账中")  # the complaint, not help
    card = phone.last_card(low_user)
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["当前得分"] == "0 / 8" and fields["项目"].startswith("M1 ")
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Objection.id))) == 0  # not yet confirmed
    phone.tap(low_user, card, card["button_list"][0]["key"])
    assert "已收到您的异议" in phone.last_text(low_user)
    notice = phone.last_text("shuyuan_admin")
    assert "收到异议" in notice and "【M1 " in notice and "我每周都有两次以上交流" in notice
    phone.new(target_user)
    phone.say(target_user, "异议")  # alone: the same steps; 取消 leaves them
    assert phone.last_card(target_user)["main_title"]["title"].startswith("提出异议：哪一项")
    phone.say(target_user, "M2")
    assert "异议项目：M2" in phone.last_text(target_user)
    phone.say(target_user, "取消")
    assert phone.last_text(target_user) == "已取消，异议没有提交。"
    phone.say(target_user, "还在吗")
    assert phone.last_text(target_user).startswith("抱歉，没有理解")
    assert "收到异议" in phone.last_text("cs_admin")
    assert not [p for p in phone.new("de_admin") if "收到异议" in str(p)]
    with database.session() as session:
        objection_id = session.scalar(sa.select(sa.func.max(Objection.id)))
    phone.say("shuyuan_admin", f"更正 {objection_id} M1 8")
    assert "必须写明原因" in phone.last_text("shuyuan_admin")
    phone.say("cs_admin", f"更正 {objection_id} M1 8 核实")
    assert "只有书院部管理员" in phone.last_text("cs_admin")
    phone.new(target_user)
    phone.say("shuyuan_admin", f"更正 {objection_id} M1 8 已核实台账，每周交流达标")
    assert "已更正" in phone.last_text("shuyuan_admin")
    updated = phone.last_card(low_user)
    assert "已更新" in updated["main_title"]["title"]
    assert "已更新" in phone.last_card(target_user)["main_title"]["title"]
    with database.session() as session:
        cycle = session.get(AssessmentCycle, cycle_id)
        after = compute(session, cycle)
        assert after.of(low).rank < low_rank
        assert after.of(target).rank > target_rank
        correction = session.scalars(sa.select(Correction)).one()
        assert (correction.old_tenths, correction.new_tenths) == (0, 80)
        assert correction.objection_id == objection_id
        assert (
            session.scalar(
                sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "correct")
            )
            == 1
        )

    # 7. the late college: its admin is sent to the office, the office accepts its workbook
    late_college(app, database, phone)

    # 8. closing: not with an open objection, not in the objection period; then final, exports
    phone.say("shuyuan_admin", "结束考核")
    assert "没有答复" in phone.last_text("shuyuan_admin")
    phone.say("shuyuan_admin", f"答复 {objection_id} 已核实并更正 M1 为 8 分")
    assert "已核实并更正" in phone.last_text(low_user)
    phone.say("shuyuan_admin", "结束考核")
    assert "异议期内不能结束考核" in phone.last_text("shuyuan_admin")
    end_objection_period(database, cycle_id)
    phone.new("cs_dean")
    phone.say("shuyuan_admin", "结束考核")
    office_news = phone.new("shuyuan_admin")
    closing = [_text(p) for p in office_news if p["msgtype"] in ("text", "markdown")]
    assert any("学年导师考核已结束" in text for text in closing)
    assert "考核已结束" in closing[-1]  # the answer to the command comes last
    [final_file] = [p["file"] for p in office_news if p["msgtype"] == "file"]
    assert final_file["filename"] == "2025-2026-全校导师考核最终结果.xlsx"
    with database.session() as session:
        expected = export.results_workbook(session, session.get(AssessmentCycle, cycle_id))
    final_cells = _cells(_files(app).read(final_file["storage_key"]))
    assert final_cells == _cells(expected)
    assert final_cells != _cells(_files(app).read(workbook_file["storage_key"]))  # corrected
    dean_news = phone.new("cs_dean")
    _assert_digest_and_chart(app, dean_news)
    assert "最终结果" in _text(dean_news[0])
    phone.say("shuyuan_admin", f"更正 {objection_id} M1 7 再改")
    assert "不能再修改" in phone.last_text("shuyuan_admin")
    phone.say(low_user, "异议 还想再说")
    assert "不在考核结果公示期" in phone.last_text(low_user)
    final = phone.last_card(target_user)
    assert final["card_type"] == "text_notice"
    with database.session() as session:
        person = session.scalar(sa.select(Person).where(Person.userid == "wanglaoshi"))
        person.name = '=HYPERLINK("http://x")'
        session.commit()
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 4  # the late one too
    phone.say("shuyuan_admin", "导出")
    links = phone.last_text("shuyuan_admin")
    for name in ("outstanding", "history", "results"):
        assert f"/export/{name}.xlsx" in links
        answer = office.get(f"/m/cycle/{cycle_id}/export/{name}.xlsx")
        assert answer.status_code == 200
        sheet = load_workbook(io.BytesIO(answer.data)).active
        values = [c.value for row in sheet.iter_rows() for c in row]
        assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    history = load_workbook(io.BytesIO(office.get(f"/m/cycle/{cycle_id}/export/history.xlsx").data))
    names = [row[1].value for row in history.active.iter_rows(min_row=2)]
    assert '\'=HYPERLINK("http://x")' in names
    outstanding = load_workbook(
        io.BytesIO(office.get(f"/m/cycle/{cycle_id}/export/outstanding.xlsx").data)
    ).active
    assert outstanding.max_row >= 4  # at least one per college, the late one included
    assert any(r[0].value == "数字经济学院" for r in outstanding.iter_rows(min_row=2))
    assert ScoreSource.SELF  # self-assessment is covered in test_pages
