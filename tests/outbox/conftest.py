"""The fake WeCom API on 127.0.0.1 and a sender's client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.wecom.client import WeComClient

CORP_ID = "wwtestcorp0001"  # as in tests/conftest.py settings_overrides
SECRET = "test-secret"
AGENT_ID = 1000002
CALLBACK_URL = "https://bot.example.edu/wecom/callback"  # the app receives messages
PEOPLE = ["zhangsan", "lisi", "wangwu", "sysadmin", "shuyuan_admin"]


@pytest.fixture
def fake() -> FakeWeCom:
    state = FakeWeCom(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        hang_seconds=20,
        callback_url=CALLBACK_URL,
    )
    for userid in PEOPLE:
        state.add_user(userid, userid)
    return state


@pytest.fixture
def fake_server(fake: FakeWeCom) -> Iterator[FakeWeComServer]:
    with FakeWeComServer(fake) as running:
        yield running


@pytest.fixture
def wecom(app, fake_server: FakeWeComServer) -> WeComClient:
    store = app.extensions["redis"]
    return WeComClient(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        redis_client=store.client,
        key_prefix=store.prefix,
        api_base=fake_server.base_url,
        timeout=0.5,
        max_retries=0,
    )
