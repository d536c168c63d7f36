"""The cycle's scoring cards close at their deadline (issue 17), with the whole app served: the
opening's scoring cards go out through the outbox to the simulator, which answers each with a
response_code; once the college deadline day has passed, the cards of the colleges that have
not submitted show "已截止", a college that submitted keeps its card, and the academy's card,
whose deadline is still ahead, is left."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import AssessmentCycle, Person, Submission, Unit
from bot.cycle.card_closing import close_scoring_cards
from bot.outbox import sender
from tests.cycle.test_live import open_year
from tests.live import LiveApp

ZONE = ZoneInfo("Asia/Shanghai")


def _scoring_card(live: LiveApp, userid: str) -> dict:
    [entry] = [
        e
        for e in live.simulator.conversation(userid)
        if e["direction"] == "out"
        and e["msgtype"] == "template_card"
        and "评分" in e["payload"]["main_title"]["title"]
    ]
    return entry


def test_scoring_cards_of_colleges_that_did_not_submit_close_after_the_deadline(live):
    today = datetime.now(UTC).astimezone(ZONE).date()
    later = today + timedelta(days=30)
    command = f"开启考核 2025-2026 自评 {today} 学院 {today} 书院部 {later}"
    open_year(live, command)
    report = live.drain()
    assert report.failed == 0 and report.dead == 0
    card = _scoring_card(live, "cs_admin")["payload"]
    assert card["button_list"][0]["text"] == "提交评分"
    before = {
        userid: _scoring_card(live, userid).get("replaced_text")
        for userid in ("cs_admin", "shuyuan_admin")
    }
    assert before == {"cs_admin": None, "shuyuan_admin": None}

    database = get_database(live.app)
    with database.session() as session:  # the ICE college submitted in time
        cycle = session.scalar(sa.select(AssessmentCycle))
        ice = session.scalar(sa.select(Unit).where(Unit.code == "ICE"))
        admin = session.scalar(sa.select(Person).where(Person.userid == "ice_admin"))
        session.add(
            Submission(
                cycle_id=cycle.id,
                step="college",
                subject_id=ice.id,
                submitted_by_id=admin.id,
                submitted_at=datetime.now(UTC),
            )
        )
    assert close_scoring_cards(database, datetime.now(UTC)) == 0  # the deadline day is not over
    ended = datetime.combine(today + timedelta(days=1), time(0, 5), ZONE)
    closed = close_scoring_cards(database, ended)
    assert closed >= 1
    assert close_scoring_cards(database, ended) == 0  # a second run adds nothing
    drained = sender.drain_once(
        database,
        live.app.extensions["wecom_client"],
        live.app.extensions["redis"],
        ended,
        files=live.files,
    )
    assert drained.sent == closed and drained.failed == 0
    assert _scoring_card(live, "cs_admin")["replaced_text"] == "已截止"
    assert _scoring_card(live, "de_admin")["replaced_text"] == "已截止"
    assert _scoring_card(live, "ice_admin").get("replaced_text") is None  # submitted
    assert _scoring_card(live, "shuyuan_admin").get("replaced_text") is None  # still ahead
