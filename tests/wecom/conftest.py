"""The fake WeCom API as a real HTTP server on 127.0.0.1, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import fakeredis
import pytest

from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.wecom.client import WeComClient

CORP_ID = "wwfakecorp"
SECRET = "fake-secret"
AGENT_ID = 1000002
CALLBACK_URL = "https://bot.example.edu/wecom/callback"  # the app receives messages


@pytest.fixture
def fake() -> FakeWeCom:
    state = FakeWeCom(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        hang_seconds=10,
        callback_url=CALLBACK_URL,
    )
    state.add_user("zhangsan", "张三")
    state.add_user("lisi", "李四", mobile="13800000000")
    return state


@pytest.fixture
def server(fake: FakeWeCom) -> Iterator[FakeWeComServer]:
    with FakeWeComServer(fake) as running:
        yield running


@pytest.fixture
def redis_client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(
    server: FakeWeComServer, redis_client: fakeredis.FakeRedis, sleeps: list[float]
) -> Callable[..., WeComClient]:
    def make(**overrides: Any) -> WeComClient:
        options: dict[str, Any] = {
            "corp_id": CORP_ID,
            "secret": SECRET,
            "agent_id": AGENT_ID,
            "redis_client": redis_client,
            "key_prefix": "test:",
            "api_base": server.base_url,
            "timeout": 2.0,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return WeComClient(**options)

    return make


@pytest.fixture
def client(make_client: Callable[..., WeComClient]) -> WeComClient:
    return make_client()
