"""Database engine and sessions, usable inside Flask (`init_app`) and in plain processes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, g

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection, unless DATABASE_URL says


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC on every back end (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_options)
        self.sessionmaker = so.sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[so.Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str, **options: Any) -> sa.Engine:
    """The engine for ``url``. Statement parameters (titles, notes, names) are never put in
    error messages, so a failed statement cannot carry personal text into the logs."""
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa.create_engine(url, **options)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in sa.make_url(url).query:
        # a database host that does not answer fails a connection in seconds, not after the
        # system's TCP timeout (minutes, while WeCom waits 5 s and retries); the URL may say
        options.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
    return sa.create_engine(url, **options)


def refresh_statistics(database: Database, now: datetime, **_: Any) -> int:
    """The scheduler's nightly entry (``database_statistics``): on SQLite, ``ANALYZE``, so the
    planner knows e.g. that one year's records are most of the table and reads it straight
    through instead of by index (a fifth faster for the evidence figures); PostgreSQL's
    autovacuum keeps its own statistics, so there it does nothing. Adds no message: 0."""
    if database.engine.dialect.name == "sqlite":
        with database.engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))  # a constant statement
    return 0


class InsertIgnoringConflicts:
    """``INSERT … ON CONFLICT (conflict_on) DO NOTHING RETURNING returning`` on ``table``, built
    once per back end and run on a session's connection, in its transaction: a row that would
    break the unique key ``conflict_on`` (a column, or the columns) is left out and returns
    nothing. Built at import for statements on the hot path: a statement object reused keeps
    its cache key, and building and keying it anew costs more than the round trip. ``values``
    (bind parameters) fixes the columns; without it they come from the rows passed."""

    def __init__(
        self,
        table: sa.Table,
        conflict_on: str | Sequence[str],
        values: dict[str, Any] | None = None,
        returning: str = "id",
    ) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        columns = [conflict_on] if isinstance(conflict_on, str) else list(conflict_on)
        self._statements: dict[str, sa.Insert] = {}
        for module in (postgresql, sqlite):
            insert = module.insert(table)
            if values is not None:
                insert = insert.values(values)
            self._statements[module.dialect.name] = insert.on_conflict_do_nothing(
                index_elements=columns
            ).returning(table.c[returning])

    def execute(
        self, session: so.Session, rows: dict[str, Any] | list[dict[str, Any]]
    ) -> sa.CursorResult[Any]:
        """Insert ``rows`` (one or several); the result holds the inserted rows' ``returning``."""
        connection = session.connection()
        return connection.execute(self._statements[connection.dialect.name], rows)


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@contextmanager
def scratch_schema(base_url: str, name: str) -> Iterator[str]:
    """A PostgreSQL schema of its own (tests, benchmarks): yields ``base_url`` with its
    search_path set to the new schema, and drops that schema, and nothing else, afterwards."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"not a plain schema name: {name!r}")
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(sa.schema.CreateSchema(name))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.schema.DropSchema(name, cascade=True))
        admin.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask, database: Database) -> None:
    app.extensions["database"] = database
    app.teardown_appcontext(_close_session)


def get_database(app: Flask | None = None) -> Database:
    from flask import current_app

    return (app or current_app).extensions["database"]


def get_session() -> so.Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
