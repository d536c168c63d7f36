"""Which question the guided flow asks next (pure)."""

import pytest

from bot.records.flow import TALK, Flow, next_step, place_text


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
        (dict(kind="publicity", title="推文", day="2025-11-20"), "confirm"),
        (dict(kind="publicity", title="推文", day="2025-11-20", quick=True), "save"),
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
