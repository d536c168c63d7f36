"""Backup and restore round trip on the back end under test: every table and file equal."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import create_app
from bot.core.db import Base
from bot.core.models import EvidenceFile, EvidenceStatus, Record, RecordKind, Role
from bot.core.storage import FileStore
from tests.factories import add_person


def _seed(app, database) -> None:
    now = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    photo = store.put(b"\x89PNG\r\n\x1a\n" + b"p" * 300, ".png", now)
    with database.session() as session:
        mentor = add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        add_person(session, "zhangsan", "张三", Role.STUDENT)
        from bot.core.models import AcademicYear

        year = AcademicYear(
            code="2026-2027",
            starts_on=now.date().replace(month=9, day=1),
            ends_on=now.date().replace(year=2027, month=8, day=31),
        )
        session.add(year)
        session.flush()
        record = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.CONTACT,
            title="聊选课",
            occurred_at=now,
            created_at=now,
            updated_at=now,
            sensitive_note=b"\x00\x01secret",
        )
        session.add(record)
        session.flush()
        session.add(
            EvidenceFile(
                owner_id=mentor.id,
                record_id=record.id,
                purpose="photo",
                storage_key=photo.key,
                sha256=photo.sha256,
                size=photo.size,
                status=EvidenceStatus.STORED,
                created_at=now,
            )
        )


def _dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    tables = {}
    with engine.connect() as connection:
        for table in [*Base.metadata.sorted_tables]:
            order = list(table.primary_key.columns)
            tables[table.name] = [
                tuple(row) for row in connection.execute(sa.select(table).order_by(*order))
            ]
        tables["alembic_version"] = [
            tuple(row)
            for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        ]
    return tables


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def empty_installation(settings_overrides, empty_database_url, tmp_path):
    """Settings for a second, empty installation on the same back end."""
    return {
        **settings_overrides,
        "DATABASE_URL": empty_database_url,
        "STORAGE_DIR": str(tmp_path / "restored-files"),
    }


def test_round_trip(app, database, runner, empty_installation, tmp_path):
    _seed(app, database)
    backup_dir = tmp_path / "backup"
    result = runner.invoke(args=["backup", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert "已备份数据库和 1 个文件" in result.output
    manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["revision"]
    assert len(manifest["files"]) == 1

    restored = create_app(empty_installation)
    outcome = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert outcome.exit_code == 0, outcome.output
    restored_db = restored.extensions["database"]
    try:
        source = _dump(database.engine)
        assert sum(len(rows) for rows in source.values()) > 5
        assert _dump(restored_db.engine) == source
        settings = app.extensions["settings"]
        assert _files(Path(empty_installation["STORAGE_DIR"])) == _files(
            settings.storage_dir(app.instance_path)
        )
    finally:
        restored_db.dispose()


def test_restore_refuses_a_non_empty_installation(app, database, runner, tmp_path):
    _seed(app, database)
    runner.invoke(args=["backup", str(tmp_path / "b")])
    result = runner.invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "目标数据库不是空的" in result.output


def test_restore_refuses_a_damaged_backup(app, database, runner, empty_installation, tmp_path):
    _seed(app, database)
    runner.invoke(args=["backup", str(tmp_path / "b")])
    photo = next((tmp_path / "b" / "files").rglob("*.png"))
    photo.write_bytes(b"tampered")
    restored = create_app(empty_installation)
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    restored.extensions["database"].dispose()
    assert result.exit_code != 0
    assert "校验和不符" in result.output


def test_backup_refuses_a_non_empty_directory(runner, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("x")
    result = runner.invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "不是空的" in result.output
