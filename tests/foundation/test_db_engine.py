"""The PostgreSQL engine's connection options: a host that does not answer fails fast."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.core.db import CONNECT_TIMEOUT, make_engine


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


def test_a_failed_statement_s_message_holds_no_parameter_values(database):
    """A duplicate userid (IntegrityError) on the back end under test: the message that would
    reach the logs names the statement, never the values bound to it (a person's name)."""
    from tests.factories import add_person

    with database.session() as session:
        add_person(session, "dup-user", "甲", number="N1")
    with pytest.raises(sa.exc.IntegrityError) as failed, database.session() as session:
        add_person(session, "dup-user", "秘密名字", number="N2")
    message = str(failed.value)
    assert "秘密名字" not in message
    assert "hidden" in message
