"""The operator's schema commands as documented: `flask --app bot db upgrade` on an empty
database creates the schema (and is a no-op the second time); `db current` tells whether a
migration is pending through its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from bot.core.db import make_engine

ROOT = Path(__file__).resolve().parents[2]


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_creates_the_schema_of_an_empty_database(
    settings_overrides, empty_database_url, tmp_path
):
    # the new database's own default schema (the test schema's search_path does not exist there)
    url = sa.make_url(empty_database_url).set(query={}).render_as_string(hide_password=False)
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(PATH=os.environ["PATH"], HOME=str(tmp_path), PYTHONPATH=str(ROOT), DATABASE_URL=url)
    assert _flask(env, "db", "current").returncode == 1  # nothing there yet: pending

    first = _flask(env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert _flask(env, "db", "current").returncode == 0
    again = _flask(env, "db", "upgrade")
    assert again.returncode == 0, again.stderr

    engine = make_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert {"person", "record", "rating", "outbox_message", "processed_callback"} <= tables
    assert len(versions) == 1
