"""The student picker's chosen list is read whole (issue 17): a vote card has only main_title
for text and WeCom cuts its desc near 44 characters, so the card keeps what fits whole and the
chosen list goes first in a text. Through the simulator, as WeCom shows it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bot.core.db import get_database
from bot.core.models import MentorAssignment, MentorStudent, Role
from bot.wecom.limits import MAIN_TITLE_DESC_SHOWN
from tests.factories import add_person
from tests.live import LiveApp, serve
from tests.records.conftest import build_world

NEW = {
    "ouyang": "欧阳明月",
    "sima": "司马青云",
    "shangguan": "上官婉儿",
    "murong": "慕容雪儿",
    "dongfang": "东方晓白",
    "ximen": "西门吹雪",
    "dugu": "独孤求败",
    "linghu": "令狐冲冲",
}


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        world = build_world(database)
        with database.session() as session:
            assignment = session.scalar(
                sa.select(MentorAssignment).where(
                    MentorAssignment.mentor_id == world.ids["wanglaoshi"]
                )
            )
            for userid, name in NEW.items():
                student = add_person(session, userid, name, Role.STUDENT)
                session.add(
                    MentorStudent(
                        year_id=world.year_id, assignment_id=assignment.id, student_id=student.id
                    )
                )
        live.simulator.state.add_user("wanglaoshi", "王老师")
        yield live


def _out(live: LiveApp) -> list[dict]:
    return [e for e in live.simulator.conversation("wanglaoshi") if e["direction"] == "out"]


def test_the_chosen_list_is_said_whole_and_the_card_desc_fits(live):
    for text in ("交流", *NEW.values(), "张三"):
        assert live.simulator.send_text("wanglaoshi", text) == 200
        live.drain()
    out = _out(live)
    card = out[-1]
    assert card["msgtype"] == "template_card"
    assert card["payload"]["card_type"] == "vote_interaction"
    desc = card["payload"]["main_title"]["desc"]
    assert len(desc) <= MAIN_TITLE_DESC_SHOWN and "找不到？" in desc
    assert "已选" not in desc  # too long to be shown whole: not on the card
    said = out[-2]
    assert said["msgtype"] == "text"
    chosen = "已选：" + "、".join([*NEW.values(), "张三"])
    assert len(chosen) > MAIN_TITLE_DESC_SHOWN
    assert chosen in said["payload"]["content"].splitlines()
    # every card of the flow keeps its desc within what WeCom shows
    for entry in out:
        if entry["msgtype"] == "template_card":
            assert len(entry["payload"]["main_title"].get("desc", "")) <= MAIN_TITLE_DESC_SHOWN


def test_a_short_chosen_list_stays_on_the_card_without_a_text(live):
    for text in ("交流", "张三"):
        assert live.simulator.send_text("wanglaoshi", text) == 200
        live.drain()
    out = _out(live)
    assert [e["msgtype"] for e in out] == ["template_card", "template_card"]
    assert "已选：张三" in out[-1]["payload"]["main_title"]["desc"]
