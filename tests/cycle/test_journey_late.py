"""A year with a late college, every person's messages checked: 数字经济学院 does not submit,
the office publishes without it (公示 强制), accepts its workbook on the college's scoring page
with a reason, HR and 教务处 are told and read the results on their overview page, an
objection is corrected (更正) and answered (答复), and the year closes complete. At each step
the test compares, person by person, everything the outbox holds for them with what they
should get: mentors, college heads, the heads of the mentors' own units, college
administrators, the office, HR and 教务处, and nobody else."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    MentorAssignment,
    Objection,
    OutboxMessage,
    Person,
    Role,
    RoleGrant,
    Unit,
)
from bot.cycle.results import current
from tests.cycle.conftest import Browser, path_of
from tests.cycle.test_cycle_order import open_confirmed
from tests.cycle.test_journey import (
    _fill_academy,
    _fill_college,
    _hub_path,
    _score_college,
    end_objection_period,
)
from tests.fonts import cjk_font_installed

YEAR = "2025-2026"
CARD = f"{YEAR} 学年考核结果"
LATE = "数字经济学院"


@dataclass
class Cast:
    """Who is who in the demo university, read from the roster's tables."""

    mentors: dict[str, tuple[str, str, int]] = field(
        default_factory=dict
    )  # userid: name, college, unit
    college_heads: dict[str, set[str]] = field(default_factory=dict)  # college name: userids
    college_admins: dict[str, set[str]] = field(default_factory=dict)
    unit_heads: dict[int, set[str]] = field(default_factory=dict)  # unit id: userids
    units: dict[int, str] = field(default_factory=dict)
    office: set[str] = field(default_factory=set)
    hr: set[str] = field(default_factory=set)
    jwc: set[str] = field(default_factory=set)

    def home_units(self, college: str | None = None) -> set[int]:
        return {u for _n, c, u in self.mentors.values() if college in (None, c)}

    def of_college(self, college: str) -> set[str]:
        return {userid for userid, (_n, c, _u) in self.mentors.items() if c == college}


def _cast(database) -> Cast:
    cast = Cast()
    with database.session() as session:
        units = {u.id: u for u in session.scalars(sa.select(Unit))}
        cast.units = {uid: u.name for uid, u in units.items()}
        for person, college_id in session.execute(
            sa.select(Person, MentorAssignment.college_id).join(
                MentorAssignment, MentorAssignment.mentor_id == Person.id
            )
        ):
            cast.mentors[person.userid] = (person.name, units[college_id].name, person.unit_id)
        for grant, userid in session.execute(
            sa.select(RoleGrant, Person.userid).join(Person, Person.id == RoleGrant.person_id)
        ):
            name = units[grant.unit_id].name if grant.unit_id else None
            if grant.role == Role.COLLEGE_HEAD:
                cast.college_heads.setdefault(name, set()).add(userid)
            if grant.role == Role.COLLEGE_ADMIN:
                cast.college_admins.setdefault(name, set()).add(userid)
            if grant.role in (Role.COLLEGE_HEAD, Role.UNIT_HEAD):
                cast.unit_heads.setdefault(grant.unit_id, set()).add(userid)
            if grant.role == Role.ACADEMY_ADMIN:
                cast.office.add(userid)
            if grant.role == Role.HR:
                cast.hr.add(userid)
            if grant.role == Role.ACADEMIC_AFFAIRS:
                cast.jwc.add(userid)
        for unit in units.values():
            if unit.head is not None:
                cast.unit_heads.setdefault(unit.id, set()).add(unit.head.userid)
                if unit.kind.value == "college":
                    cast.college_heads.setdefault(unit.name, set()).add(unit.head.userid)
    return cast


def _mark(database) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0


def _sent(database, mark: int) -> dict[str, list[dict]]:
    """Every payload queued since ``mark``, by person (card updates left out)."""
    found: dict[str, list[dict]] = {}
    with database.session() as session:
        for row in session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.id > mark).order_by(OutboxMessage.id)
        ):
            if row.msgtype != "update_template_card":
                found.setdefault(row.userid, []).append(row.payload)
    return found


def _sig(payload: dict) -> str:
    """What a message is, in a few words: a card's title, a markdown's bold heading, a text's
    first phrase, a file's name; ``image`` for a chart."""
    kind = payload["msgtype"]
    if kind == "template_card":
        return payload["template_card"]["main_title"]["title"]
    if kind == "markdown":
        return payload["markdown"]["content"].split("**")[1]
    if kind == "text":
        return re.split(r"[：（。，\n]", payload["text"]["content"])[0]
    if kind == "file":
        return payload["file"]["filename"]
    return kind


def _check(sent: dict[str, list[dict]], expected: dict[str, list[str]]) -> None:
    """Each person got exactly the messages ``expected`` names (in any order), nobody else."""
    got = {userid: Counter(_sig(p) for p in payloads) for userid, payloads in sent.items()}
    want = {userid: Counter(sigs) for userid, sigs in expected.items() if sigs}
    assert got == want


def _add(expected: dict[str, list[str]], userids, *sigs: str) -> None:
    for userid in userids:
        expected.setdefault(userid, []).extend(sigs)


def _digest(*heading: str) -> tuple[str, ...]:
    return (*heading, "image") if cjk_font_installed() else heading


def _texts(payloads: list[dict]) -> str:
    return "\n".join(
        p[p["msgtype"]]["content"] for p in payloads if p["msgtype"] in ("text", "markdown")
    )


def _cards(payloads: list[dict]) -> list[dict]:
    return [p["template_card"] for p in payloads if p["msgtype"] == "template_card"]


def _overview_link(payloads: list[dict]) -> str:
    [link] = re.findall(r"\]\((http[^)]+/overview)\)", _texts(payloads))
    return path_of(link)


def test_a_late_college_accepted_after_publication_with_every_push_checked(
    app, database, demo, phone
):
    cast = _cast(database)
    assert cast.hr == {"hr_admin"} and len(cast.jwc) == 1 and cast.office
    late_mentors = cast.of_college(LATE)
    assert len(cast.mentors) == 20 and len(late_mentors) == 6

    # the year opens; two colleges and the office score and submit, 数字经济学院 does not
    open_confirmed(phone, f"开启考核 {YEAR} 学院 2099-09-10")
    with database.session() as session:
        cycle_id = session.scalar(sa.select(AssessmentCycle.id))
    for admin in ("cs_admin", "ice_admin"):
        _score_college(app, database, admin)
        phone.say(admin, "提交评分 确认")
    office = Browser(app, "shuyuan_admin")
    academy = _hub_path(database, "shuyuan_admin")
    office.upload(academy + "/upload", _fill_academy(office.get(academy + "/workbook.xlsx").data))
    office.post(academy + "/confirm")
    phone.say("shuyuan_admin", "提交评分")
    assert "已提交书院部的评分" in phone.last_text("shuyuan_admin")

    # 公示 强制 without the late college: who gets what
    mark = _mark(database)
    phone.say("shuyuan_admin", "公示 强制")
    sent = _sent(database, mark)
    expected: dict[str, list[str]] = {}
    _add(expected, cast.mentors, CARD)
    for college, heads in cast.college_heads.items():
        _add(expected, heads, *_digest(f"{college} {YEAR} 学年导师考核排名（公示）"))
    for unit in cast.home_units():
        _add(
            expected,
            cast.unit_heads.get(unit, ()),
            f"{cast.units[unit]}导师 {YEAR} 学年考核结果（公示）",
        )
    for college, admins in cast.college_admins.items():
        _add(expected, admins, f"{college} {YEAR} 学年导师考核结果已公示")
    _add(
        expected, cast.office, f"{YEAR} 学年导师考核已公示", f"{YEAR}-全校导师考核结果（公示）.xlsx"
    )
    _add(expected, cast.hr | cast.jwc, f"{YEAR} 学年导师考核结果已公示")
    _add(expected, ["shuyuan_admin"], "已公示")  # the answer to the command
    _check(sent, expected)
    until = re.search(r"异议期至 (\d+月\d+日)", _texts(sent["hr_admin"])).group(1)
    for userid, (name, college, _unit) in cast.mentors.items():
        [card] = _cards(sent[userid])
        assert card["main_title"]["desc"].startswith(name)
        assert ("结果未完成" in card["main_title"]["desc"]) == (college == LATE)
        assert f"请在 {until} 前" in card["sub_title_text"]
    for admin in cast.college_admins[LATE]:
        assert "交书院部" in _texts(sent[admin]) and f"异议期至 {until}" in _texts(sent[admin])
    assert "交书院部" not in _texts(sent["cs_admin"])
    for unit in cast.home_units():
        lines = _texts(sent[sorted(cast.unit_heads[unit])[0]])
        for name, _c, home in cast.mentors.values():
            if home == unit:
                assert name in lines  # 第八条: the unit's own mentors, whoever heads it
    assert "缺少：数字经济学院" in _texts(sent["hr_admin"])

    # HR and 教务处 read the published results on their overview page
    overview = _overview_link(sent["hr_admin"])
    assert overview == _overview_link(sent[next(iter(cast.jwc))])
    page = Browser(app, "hr_admin").get(overview)
    assert page.status_code == 200 and "结果未完成：缺" in page.text and "历年考核记录" in page.text
    jwc_page = Browser(app, next(iter(cast.jwc))).get(overview)
    assert jwc_page.status_code == 200 and "历年考核记录" not in jwc_page.text

    # the office accepts the late college's workbook on its scoring page, with a reason;
    # the objection period has days enough left: nobody else's card changes
    hub = _hub_path(database, "de_admin")
    filled = _fill_college(Browser(app, "de_admin").get(hub + "/workbook.xlsx").data)
    assert "确认补录" in office.upload(hub + "/upload", filled).text
    mark = _mark(database)
    done = office.post(hub + "/confirm", data={"reason": "学院逾期提交，经书院部核对"})
    assert f"{LATE}的逾期评分已由书院部补录" in done.text and "异议期延长" not in done.text
    sent = _sent(database, mark)
    expected = {}
    _add(expected, late_mentors, f"{CARD}（已更新）")
    _add(expected, cast.college_heads[LATE], *_digest(f"{LATE} {YEAR} 学年导师考核排名（公示）"))
    for unit in cast.home_units(LATE):
        _add(
            expected,
            cast.unit_heads.get(unit, ()),
            f"{cast.units[unit]}导师 {YEAR} 学年考核结果（已更新）",
        )
    _add(expected, cast.college_admins[LATE] | cast.office, f"{LATE}的逾期评分已由书院部补录")
    _add(expected, cast.hr | cast.jwc, f"{YEAR} 学年导师考核结果已更正")
    _check(sent, expected)
    for userid in late_mentors:
        [card] = _cards(sent[userid])
        assert (
            "学院排名第" in card["main_title"]["desc"]
            and f"请在 {until} 前" in card["sub_title_text"]
        )
    for unit in cast.home_units(LATE):  # only the late college's mentors, now ranked
        [note] = [
            p
            for p in sent[sorted(cast.unit_heads[unit])[0]]
            if p["msgtype"] == "markdown" and "（已更新）" in _sig(p)
        ]
        lines = note["markdown"]["content"].splitlines()[1:-1]
        assert lines and all(f"（{LATE}）：总分" in line for line in lines)
    assert "学院逾期提交，经书院部核对" in _texts(sent["hr_admin"])
    assert "优秀导师" in _texts(sent[next(iter(cast.college_heads[LATE]))])

    # ... and HR and 教务处 read the completed results
    for userid in ("hr_admin", *cast.jwc):
        page = Browser(app, userid).get(overview).text
        assert "结果未完成" not in page and " / 6" in page
    results = Browser(app, "hr_admin").get(f"/m/cycle/{cycle_id}/results.xlsx")
    rows = list(load_workbook(io.BytesIO(results.data)).active.iter_rows(values_only=True))
    total = rows[0].index("总分")
    assert len(rows) == 21 and all(row[total] is not None for row in rows[1:])

    # an objection from a mentor of the late college: the office and the college's admins
    mark = _mark(database)
    phone.say("liulaoshi", "异议 M1 我每周都有两次以上交流，记录在台账中")
    with database.session() as session:
        objection_id = session.scalar(sa.select(sa.func.max(Objection.id)))
        before = current(session, session.get(AssessmentCycle, cycle_id))
    expected = {"liulaoshi": ["已收到您的异议"]}
    _add(expected, cast.office | cast.college_admins[LATE], f"收到异议 #{objection_id}")
    _check(_sent(database, mark), expected)

    # corrected: the mentors whose result changed, HR and 教务处; nobody else
    mark = _mark(database)
    phone.say("shuyuan_admin", f"更正 {objection_id} M1 8 已核实台账，每周交流达标")
    sent = _sent(database, mark)
    with database.session() as session:
        after = current(session, session.get(AssessmentCycle, cycle_id))
        changed = {
            m.person.userid
            for m in after.members
            if after.of(m.person.id).total != before.of(m.person.id).total
            or after.of(m.person.id).rank != before.of(m.person.id).rank
            or after.of(m.person.id).outstanding != before.of(m.person.id).outstanding
        }
    assert "liulaoshi" in changed and changed <= late_mentors
    expected = {}
    _add(expected, changed, f"{CARD}（已更新）")
    _add(expected, cast.hr | cast.jwc, f"{YEAR} 学年导师考核结果已更正")
    _add(expected, ["shuyuan_admin"], _sig(sent["shuyuan_admin"][-1]))
    _check(sent, expected)
    assert "已更正" in _texts(sent["shuyuan_admin"])
    assert "刘芳（数字经济学院）M1：0 → 8" in _texts(sent["hr_admin"])

    # answered: the mentor alone hears it
    mark = _mark(database)
    phone.say("shuyuan_admin", f"答复 {objection_id} 已核实台账，M1 更正为 8 分")
    sent = _sent(database, mark)
    assert set(sent) == {"liulaoshi", "shuyuan_admin"}
    assert f"书院部对您的异议 #{objection_id} 的答复" in _texts(sent["liulaoshi"])

    # closing: not within the objection period; afterwards complete, everyone told
    phone.say("shuyuan_admin", "结束考核")
    assert "异议期内不能结束考核" in phone.last_text("shuyuan_admin")
    end_objection_period(database, cycle_id)
    mark = _mark(database)
    phone.say("shuyuan_admin", "结束考核")
    sent = _sent(database, mark)
    expected = {}
    _add(expected, cast.mentors, CARD)
    for college, heads in cast.college_heads.items():
        _add(expected, heads, *_digest(f"{college} {YEAR} 学年导师考核最终结果"))
    for unit in cast.home_units():
        _add(
            expected,
            cast.unit_heads.get(unit, ()),
            f"{cast.units[unit]}导师 {YEAR} 学年考核最终结果",
        )
    _add(expected, cast.office, f"{YEAR} 学年导师考核已结束", f"{YEAR}-全校导师考核最终结果.xlsx")
    _add(expected, cast.hr | cast.jwc, f"{YEAR} 学年导师考核已结束")
    _add(expected, ["shuyuan_admin"], "考核已结束")
    _check(sent, expected)
    for userid in cast.mentors:
        [card] = _cards(sent[userid])
        assert card["card_type"] == "text_notice" and "学院排名第" in card["main_title"]["desc"]
    assert "强制" not in _texts(sent["shuyuan_admin"])
    with database.session() as session:
        cycle = session.get(AssessmentCycle, cycle_id)
        assert cycle.status == CycleStatus.CLOSED
        final = current(session, cycle)
        assert all(final.of(m.person.id).total is not None for m in final.members)
        closing = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "close")).one()
        assert closing.after is None  # not forced

    # HR and 教务处 read the final results; HR's multi-year record has the late college ranked
    for userid in ("hr_admin", *cast.jwc):
        assert _overview_link(sent[userid]) == overview
        page = Browser(app, userid).get(overview).text
        assert f"{YEAR} 学年导师考核最终结果" in page and "结果未完成" not in page
    history = Browser(app, "hr_admin").get("/m/cycle/history.xlsx")
    assert history.status_code == 200
    sheet = load_workbook(io.BytesIO(history.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    rank = rows[0].index("学院排名")
    college = rows[0].index("考核学院")
    late_rows = [row for row in rows[1:] if row[college] == LATE]
    assert len(late_rows) == 6 and all(re.fullmatch(r"\d+ / 6", row[rank]) for row in late_rows)
