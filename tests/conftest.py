"""Shared fixtures. The back ends come from the environment:

- DATABASE_URL unset → a SQLite file per test session; a postgresql URL → a schema of its own,
  created here and dropped at the end (no other data is touched).
- REDIS_URL unset → an in-process Redis; a redis URL → keys under a prefix of their own,
  deleted at the end.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from bot import create_app
from bot.core import migrate
from bot.core.db import Database, make_engine, scratch_schema
from bot.core.redis_store import RedisStore
from tests.fonts import require_cjk_font
from tests.live import free_port, reset_installation
from tests.redis_server import PrivateRedis

RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture
def cjk_font() -> str:
    """The installed CJK family (pictures with Chinese text); without one the test is
    skipped with a Chinese and English message, except under CI, where it fails."""
    return require_cjk_font()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgresql"):
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(make_engine(url))
        yield url
        return
    with scratch_schema(base_url, f"test_{RUN_ID}") as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    return url if url.startswith("redis") else f"memory://{RUN_ID}"


@pytest.fixture
def shared_redis_url(redis_url: str) -> Iterator[str]:
    """A Redis several processes reach: the real one, or an in-process server over TCP."""
    if redis_url.startswith("redis"):
        yield redis_url
        return
    from fakeredis import TcpFakeServer

    port = free_port()
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{port}/0"
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Any) -> Iterator[str]:
    """A second, empty database on the back end under test (a restore's target): a new SQLite
    file, or a new PostgreSQL database dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"restore_{uuid.uuid4().hex[:10]}"
    base = sa.make_url(database_url)
    admin = make_engine(
        base.set(query={}).render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"test-{RUN_ID}:"


@pytest.fixture(scope="session", autouse=True)
def _drop_redis_keys(redis_url: str, redis_prefix: str) -> Iterator[None]:
    yield
    RedisStore(redis_url, redis_prefix).delete_all_keys()


def make_aes_key(seed: str = "test") -> str:
    raw = (seed.encode() * 32)[:32]
    return base64.b64encode(raw).decode().rstrip("=")


@pytest.fixture
def settings_overrides(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path: Any
) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "WECOM_CORP_ID": "wwtestcorp0001",
        "WECOM_AGENT_ID": 1000002,
        "WECOM_SECRET": "test-secret",
        "WECOM_TOKEN": "test-token",
        "WECOM_AES_KEY": make_aes_key(),
        "WECOM_API_BASE": "http://127.0.0.1:9",
        "SECRET_KEY": "test-secret-key",
        "CARE_NOTES_KEY": base64.urlsafe_b64encode(b"care-notes-test-key-32-bytes-abc").decode(),
        "STORAGE_DIR": str(tmp_path / "storage"),
    }


@pytest.fixture
def app(settings_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(settings_overrides)
    app.config["TESTING"] = True
    yield app
    reset_installation(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def database(app: Flask) -> Database:
    return app.extensions["database"]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    program = shutil.which("redis-server")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis outage tests: install redis-server", pytrace=False)
        pytest.skip(
            "需要 redis-server 才能模拟 Redis 故障 (the Redis outage tests need redis-server)"
        )
    workdir = tmp_path / "private-redis"
    workdir.mkdir()
    server = PrivateRedis(program, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
