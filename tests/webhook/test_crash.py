"""A web process that dies while acting on a callback: WeCom's retry is acted on, not dropped.

Nothing may say "done" before the transaction commits: a mark written earlier would outlive the
dead process and make every retry of a callback nobody acted on look like a duplicate.
"""

import pytest
import sqlalchemy as sa

from bot.chat import dedupe, dispatch
from bot.core.models import OutboxMessage, ProcessedCallback, Role
from tests.factories import WeComCaller, add_person


class Killed(BaseException):
    """What SIGKILL does to a worker mid-request: nothing after this line runs."""


def _count(database, model) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_retry_of_a_callback_whose_process_died_is_acted_on(app, client, database, monkeypatch):
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    store = app.extensions["redis"]
    caller = WeComCaller(app, client)
    xml = caller.envelope("wanglaoshi").text("帮助", msg_id=31_000_001)
    handle = dispatch.handle
    marked_while_acting = []

    def dies(message, **kwargs):
        handle(message, **kwargs)  # the work is done, not yet committed…
        marked_while_acting.append(dedupe.seen(store, message.dedupe_key))
        raise Killed  # …and the process is gone

    monkeypatch.setattr(dispatch, "handle", dies)
    with pytest.raises(Killed):
        caller.post_xml(xml)
    assert marked_while_acting == [False]
    assert _count(database, ProcessedCallback) == 0  # rolled back: nobody acted on it
    assert _count(database, OutboxMessage) == 0
    monkeypatch.setattr(dispatch, "handle", handle)

    assert caller.post_xml(xml).status_code == 200  # WeCom's retry
    assert _count(database, ProcessedCallback) == 1
    assert _count(database, OutboxMessage) == 1
    assert caller.post_xml(xml).status_code == 200  # a later retry: answered from Redis
    assert _count(database, OutboxMessage) == 1
    assert dedupe.seen(store, "msg:31000001")


def test_a_callback_already_in_the_database_is_a_duplicate_even_if_redis_forgot(
    app, client, database
):
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    caller = WeComCaller(app, client)
    xml = caller.envelope("wanglaoshi").text("帮助", msg_id=31_000_002)
    assert caller.post_xml(xml).status_code == 200
    app.extensions["redis"].delete_all_keys()  # Redis lost its memory (restart without AOF)
    assert caller.post_xml(xml).status_code == 200
    assert _count(database, ProcessedCallback) == 1
    assert _count(database, OutboxMessage) == 1
