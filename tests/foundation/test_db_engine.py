"""The PostgreSQL engine's connection options: a host that does not answer fails fast."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.db import CONNECT_TIMEOUT, make_engine


def _connect_params(url: str) -> dict:
    """What the engine would hand psycopg to connect (nothing is connected)."""
    engine = make_engine(url)
    captured: dict = {}

    @sa.event.listens_for(engine, "do_connect")
    def capture(_dialect, _record, _args, params):
        captured.update(params)
        raise RuntimeError("captured")

    with pytest.raises(RuntimeError, match="captured"):
        engine.connect()
    engine.dispose()
    return captured


def test_a_postgresql_connection_times_out_in_seconds():
    params = _connect_params("postgresql+psycopg://bot@db.example:5432/mentor")
    assert params["connect_timeout"] == CONNECT_TIMEOUT


def test_the_url_s_own_connect_timeout_wins():
    params = _connect_params("postgresql+psycopg://bot@db.example:5432/mentor?connect_timeout=2")
    assert params["connect_timeout"] == "2"
