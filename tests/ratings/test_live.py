"""The rating journey with the whole app served for real: cards go out through the outbox and
the fake WeCom API (one call for all participants), taps come back as signed callbacks from
the simulator, and each card is updated in place with its response code."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.core.db import Base, get_database
from bot.core.models import Rating
from bot.ratings import jobs
from tests.live import LiveApp, serve
from tests.ratings.conftest import POLICY, add_activity
from tests.records.conftest import World, build_world

STUDENTS = {"zhangsan": "张三", "lisi": "李四", "zhousong": "周松", "zhaoliu": "赵六"}


@pytest.fixture
def live(settings_overrides) -> Iterator[tuple[LiveApp, World]]:
    with serve(settings_overrides) as live:
        database = get_database(live.app)
        world = build_world(database)
        with live.app.app_context():
            for userid, name in {"wanglaoshi": "王老师", **STUDENTS}.items():
                live.simulator.state.add_user(userid, name)
        yield live, world
        with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        live.app.extensions["redis"].delete_all_keys()


def _out(live: LiveApp, userid: str) -> list[dict]:
    return [e for e in live.simulator.conversation(userid) if e["direction"] == "out"]


def _tap(live: LiveApp, userid: str, card: dict, text: str) -> None:
    key = next(b["key"] for b in card["button_list"] if b["text"] == text)
    status = live.simulator.tap_card(
        userid, task_id=card["task_id"], card_type=card["card_type"], event_key=key, selected=[]
    )
    assert status == 200
    report = live.drain()
    assert report.failed == 0 and report.dead == 0


def test_rating_journey_through_the_simulator(live):
    live, world = live
    database = get_database(live.app)
    add_activity(database, world, ["zhangsan", "lisi", "zhousong"])
    assert jobs.send_rating_cards(database, datetime.now(UTC), policy=POLICY) == 3
    calls_before = len(live.simulator.state.calls("message/send"))
    report = live.drain()
    assert report.sent == 3 and report.calls == 1
    assert len(live.simulator.state.calls("message/send")) == calls_before + 1
    card = _out(live, "zhangsan")[-1]["payload"]
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "活动评价"

    _tap(live, "zhangsan", card, "非常满意")
    rated = _out(live, "zhangsan")[-1]
    assert rated["replaced_text"] == "已评价：非常满意，谢谢！"

    _tap(live, "zhangsan", card, "不满意")  # a second tap (another device)
    assert "已经评价过" in _out(live, "zhangsan")[-1]["payload"]["content"]

    _tap(live, "lisi", card, "我没参加")
    assert _out(live, "lisi")[-1]["replaced_text"] == "已记录：我没参加，谢谢告知"

    with database.session() as session:
        levels = {
            (level, attended)
            for level, attended in session.execute(sa.select(Rating.level, Rating.attended))
        }
    assert levels == {(None, False), (5, True)}
    assert len(_out(live, "zhousong")) == 1  # the card, untouched


def test_a_student_held_back_by_the_per_person_limit_still_gets_the_card(live):
    from datetime import timedelta

    from bot.outbox import sender
    from bot.outbox.ratelimit import PER_MINUTE, RateLimiter

    live, world = live
    database = get_database(live.app)
    add_activity(database, world, ["zhangsan", "lisi"])
    now = datetime.now(UTC)
    assert jobs.send_rating_cards(database, now, policy=POLICY) == 2
    limiter = RateLimiter(live.app.extensions["redis"])
    for _ in range(PER_MINUTE):  # lisi has had 30 messages this minute
        limiter.try_take("lisi", now)
    first = sender.drain_once(
        database, live.app.extensions["wecom_client"], live.app.extensions["redis"], now
    )
    assert first.sent == 1 and first.deferred == 1
    sender.drain_once(
        database,
        live.app.extensions["wecom_client"],
        live.app.extensions["redis"],
        now + timedelta(minutes=2),
    )
    assert [e["msgtype"] for e in _out(live, "lisi")] == ["template_card"]
