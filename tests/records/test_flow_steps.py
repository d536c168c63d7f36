"""Which question the guided flow asks next (pure)."""

import pytest

from bot.core.models import RecordKind
from bot.records.flow import FLOWS, PICKER_KINDS, TALK, Flow, next_step, place_text
from bot.wecom.cards import MAX_BUTTONS


def flow(**fields) -> Flow:
    return Flow(flow_id="f", **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (dict(kind="contact"), "students"),
        (dict(kind="contact", student_ids=[1]), "time"),
        (dict(kind="contact", student_ids=[1], problems=["?"]), "students"),
        (dict(kind="contact", student_ids=[1], day="2025-11-20"), "place"),
        (dict(kind="contact", student_ids=[1], day="2025-11-20", place_done=True), "note"),
        (
            dict(
                kind="contact", student_ids=[1], day="2025-11-20", place_done=True, note_done=True
            ),
            "confirm",
        ),
        (
            dict(
                kind="contact",
                student_ids=[1],
                day="2025-11-20",
                place_done=True,
                note_done=True,
                quick=True,
            ),
            "save",
        ),
        (dict(kind="group_activity"), "title"),
        (dict(kind="group_activity", title="观影"), "students"),
        (dict(kind=TALK), "who"),
        (dict(kind="counsellor_talk"), "time"),
        (dict(kind="care", student_ids=[1], day="2025-11-20"), "note"),
        (dict(kind="publicity"), "title"),
        (dict(kind="publicity", title="推文"), "note"),
        (dict(kind="publicity", title="推文", note_done=True), "confirm"),
        (dict(kind="publicity", title="推文", note_done=True, quick=True), "save"),
        (dict(kind="semester_plan"), "title"),
        (dict(kind="semester_plan", title="每月一次读书沙龙"), "confirm"),
        (dict(kind="monthly_plan"), "month"),
        (dict(kind="monthly_plan", day="2025-11-20"), "title"),
        (dict(kind="monthly_summary", day="2025-11-20", title="要点"), "confirm"),
        (dict(kind="external_resource", title="企业导师"), "note"),
        (dict(kind="academy_booking"), "title"),
        (dict(kind="academy_booking", title="预约书院空间"), "time"),
        (dict(kind="academy_booking", title="x", day="2025-11-20", place_done=True), "students"),
        (
            dict(
                kind="academy_booking",
                title="x",
                day="2025-11-20",
                place_done=True,
                students_done=True,
            ),
            "confirm",
        ),
        # participants are optional only where the kind says so
        (dict(kind="contact", students_done=True), "students"),
        (dict(kind="monthly_guidance"), "time"),
    ],
)
def test_next_step(fields, expected):
    assert next_step(flow(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (dict(online=True, place="线上"), "线上"),
        (dict(online=True, place="电话"), "线上（电话）"),
        (dict(online=False, place="图书馆"), "图书馆"),
        (dict(online=False), "线下"),
        (dict(), "未填写"),
    ],
)
def test_place_text(fields, expected):
    assert place_text(flow(kind="contact", **fields)) == expected


def test_every_kind_a_mentor_records_has_a_guided_flow():
    recorded = set(RecordKind) - {RecordKind.MONTHLY_GUIDANCE}
    assert recorded <= set(FLOWS)
    for spec in FLOWS.values():
        assert spec.steps[-1] == "confirm"


def test_the_picker_fits_one_button_card_and_offers_the_kinds_without_a_menu_button():
    from handlers import record_flow

    assert len(PICKER_KINDS) <= MAX_BUTTONS
    on_menu = set(record_flow._MENU_KINDS.values())
    offered = {kind.value for kind in PICKER_KINDS}
    # every kind a mentor records is on the menu, in the picker, or chosen inside a talk
    talks = {RecordKind.COUNSELLOR_TALK.value, RecordKind.LEADER_TALK.value}
    assert set(FLOWS) - {TALK} - talks == (on_menu - {TALK}) | offered
    assert not on_menu & offered
