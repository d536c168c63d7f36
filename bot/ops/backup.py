"""Backups: a consistent copy of the database plus the stored files, with a manifest of
checksums; and the way back into an empty installation.

SQLite is copied with its online backup API; PostgreSQL with ``pg_dump --format=custom`` and
brought back with ``pg_restore``. Stored files go through the FileStore, whichever back end it
is (directory or object store): a backup always holds them as files under ``files/<key>``, and
a restore puts them back through the store. Restoring checks every checksum before it touches
anything, and puts the files back before the database rows that name them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
import structlog

from bot.core.db import Database
from bot.core.storage import FileStore, StorageError, check_key

log = structlog.get_logger("bot.ops.backup")

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why (in Chinese)."""


@dataclass
class Manifest:
    created_at: str
    backend: str
    revision: str | None
    database_file: str
    database_sha256: str
    files: list[dict[str, object]] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(database: Database, store: FileStore, target: Path, now: datetime) -> Manifest:
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"备份目录 {target} 不是空的")
    target.mkdir(parents=True, exist_ok=True)
    url = database.engine.url
    if url.get_backend_name() == "sqlite":
        database_file = SQLITE_FILE
        _sqlite_backup(Path(url.database or ""), target / SQLITE_FILE)
    else:
        database_file = PG_FILE
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                *_schema_args(url),
                "--file",
                str(target / PG_FILE),
                _libpq(url),
            ]
        )
    files = []
    try:
        for key in list(store.keys()):
            try:
                content = store.read(key)
            except FileNotFoundError:  # deleted (retention) since it was listed
                log.info("backup_file_gone", key=key)
                continue
            copy = target / "files" / key
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(content)
            files.append({"path": key, "size": copy.stat().st_size, "sha256": sha256_of(copy)})
    except StorageError as exc:
        raise BackupError(f"无法读取存储的文件：{exc}") from None
    manifest = Manifest(
        created_at=now.isoformat(),
        backend=url.get_backend_name(),
        revision=_revision(database),
        database_file=database_file,
        database_sha256=sha256_of(target / database_file),
        files=files,
    )
    (target / MANIFEST).write_text(
        json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest


def restore(database: Database, store: FileStore, source: Path) -> Manifest:
    manifest = _verified_manifest(source)
    url = database.engine.url
    if manifest.backend != url.get_backend_name():
        raise BackupError(f"备份来自 {manifest.backend}，不能恢复到 {url.get_backend_name()}")
    if sa.inspect(database.engine).get_table_names():
        raise BackupError("目标数据库不是空的：只能恢复到全新的安装中")
    try:
        if not store.is_empty():
            raise BackupError(f"{store.describe()} 不是空的：只能恢复到全新的安装中")
        for entry in manifest.files:
            key = str(entry["path"])
            store.write(key, (source / "files" / key).read_bytes())
    except StorageError as exc:
        raise BackupError(f"无法写入存储：{exc}") from None
    database.dispose()
    if manifest.backend == "sqlite":
        _sqlite_backup(source / SQLITE_FILE, Path(url.database or ""))
    else:
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--dbname",
                _libpq(url),
                str(source / PG_FILE),
            ]
        )
    return manifest


def _verified_manifest(source: Path) -> Manifest:
    try:
        manifest = Manifest(**json.loads((source / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{source} 中没有可用的备份清单 {MANIFEST}") from exc
    if sha256_of(source / manifest.database_file) != manifest.database_sha256:
        raise BackupError(f"数据库备份 {manifest.database_file} 的校验和不符，文件已损坏")
    for entry in manifest.files:
        try:
            check_key(str(entry["path"]))
        except ValueError:
            raise BackupError(f"备份清单中的文件名 {entry['path']!r} 不合法") from None
        path = source / "files" / str(entry["path"])
        if not path.is_file() or sha256_of(path) != entry["sha256"]:
            raise BackupError(f"文件 {entry['path']} 缺失或校验和不符")
    return manifest


def _sqlite_backup(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    os.chmod(target, 0o600)


def _revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _libpq(url: sa.URL) -> str:
    """A libpq connection string for pg_dump / pg_restore (no driver suffix, no options)."""
    plain = url.set(drivername="postgresql", query={})
    return plain.render_as_string(hide_password=False)


def _schema_args(url: sa.URL) -> list[str]:
    """``-n SCHEMA`` when the URL pins a search_path (as the tests do); else the whole DB."""
    options = unquote(str(url.query.get("options", "")))
    for part in options.split():
        if part.startswith("-csearch_path="):
            return ["--schema", part.removeprefix("-csearch_path=")]
    return []


def _run(command: list[str]) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"找不到 {command[0]}：请安装 PostgreSQL 客户端工具") from exc
    if result.returncode != 0:
        raise BackupError(f"{command[0]} 失败：{result.stderr.strip()[:500]}")
