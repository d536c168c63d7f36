"""Stored files (photos, plans, summaries, workbooks, charts), named by content.

One small interface, ``FileStore``, with two back ends chosen from the settings by the one
factory ``FileStore.from_settings``: a local directory (``STORAGE_DIR``, the default) or an
S3-compatible object store (``STORAGE_URL=s3://bucket/prefix``: AWS S3, MinIO, Ceph RGW,
Aliyun OSS…). Keys are the same relative paths ``YYYY/MM/<sha256><suffix>`` in both.

``put`` returns only once the content is durably stored, so a database row naming the key may
commit after it. Failures of the back end raise ``StorageError`` (an ``OSError``), logged with
the operation and key, never the content. ``check`` is the cheap readiness test /readyz runs.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from flask import Flask

    from bot.core.settings import Settings

log = structlog.get_logger("bot.core.storage")

_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


_VERBS = {
    "put": "写入",
    "get": "读取",
    "head": "查询",
    "delete": "删除",
    "list": "列出文件",
    "check": "检查",
}

# The readiness check's object-store request: one try, each of connect and read at most this
# many seconds, so a stuck store is reported within about 2 s instead of holding a web worker.
CHECK_TIMEOUT = 1


class StorageError(OSError):
    """The file store is unreachable or refused an operation (the message names which)."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


def check_key(key: str) -> str:
    """``key`` if it is a relative path of plain names (no ``..``, no hidden names)."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def app_file_store(app: Flask) -> FileStore:
    """The web app's FileStore, made once from its settings (callbacks and pages use it)."""
    store = app.extensions.get("file_store")
    if store is None:
        store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
        app.extensions["file_store"] = store
    return store


def make_directory(settings: Settings, instance_path: str | Path) -> None:
    """At start, create a local store's directory if it is missing (as the instance folder is),
    so a new installation is ready before its first upload. One that cannot be made is only
    logged here; /readyz then reports the store unavailable."""
    if settings.s3_location() is not None:
        return
    root = settings.storage_dir(instance_path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _log_local_failure("mkdir", root, exc)


def _log_local_failure(operation: str, root: Path, exc: OSError) -> str:
    """Log a local directory's failure as the stores log theirs (no content); the error's name."""
    error = type(exc).__name__
    log.warning("storage_error", backend="local", operation=operation, root=str(root), error=error)
    return error


class FileStore(ABC):
    """Where stored files live. Keys are relative paths ``YYYY/MM/<sha256><suffix>``."""

    @staticmethod
    def from_settings(settings: Settings, instance_path: str | Path) -> FileStore:
        """The one factory: the object store of ``STORAGE_URL`` if set, else the directory
        ``STORAGE_DIR`` (default ``instance/storage``)."""
        location = settings.s3_location()
        if location is None:
            return LocalFileStore(settings.storage_dir(instance_path))
        bucket, prefix = location
        secret = settings.S3_SECRET_ACCESS_KEY
        options = (
            settings.S3_ENDPOINT_URL,
            settings.S3_REGION,
            settings.S3_ACCESS_KEY_ID,
            secret.get_secret_value() if secret is not None else None,
            settings.S3_ADDRESSING_STYLE,
        )
        return S3FileStore(
            _s3_client(*options),
            bucket,
            prefix,
            endpoint=settings.S3_ENDPOINT_URL,
            check_client=partial(_s3_client, *options, for_check=True),
        )

    def put(self, content: bytes, suffix: str, now: datetime) -> StoredFile:
        """Store ``content`` under a key made of the month and its sha256 (idempotent)."""
        digest = hashlib.sha256(content).hexdigest()
        key = check_key(f"{now:%Y/%m}/{digest}{suffix.lower()}")
        if not self.exists(key):
            self.write(key, content)
        return StoredFile(key=key, sha256=digest, size=len(content))

    @contextmanager
    def storing(self, content: bytes, suffix: str, now: datetime) -> Iterator[StoredFile]:
        """``put`` for a file whose database row is written in the ``with`` block: if the block
        fails (the database refused the row, the transaction did not commit), the file written
        here is deleted again, so no stored file is left without its row. A file that was
        there already (the same content, kept for another row) is left alone. Commit inside
        the block. Two uploads of identical content at the same moment, one failing, could
        still remove the other's file; the content-named keys make that the only case."""
        digest = hashlib.sha256(content).hexdigest()
        key = check_key(f"{now:%Y/%m}/{digest}{suffix.lower()}")
        written = not self.exists(key)
        if written:
            self.write(key, content)
        try:
            yield StoredFile(key=key, sha256=digest, size=len(content))
        except BaseException:
            if written:
                with suppress(StorageError):  # logged by the store; the row's failure counts
                    self.delete(key)
            raise

    @abstractmethod
    def write(self, key: str, content: bytes) -> None:
        """Store ``content`` under exactly ``key`` (atomically: all of it or nothing)."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The content of ``key``; FileNotFoundError if there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens if it is not there."""

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Every stored key, in sorted order."""

    @abstractmethod
    def describe(self) -> str:
        """Where the files are, for messages to operators (no credentials)."""

    @abstractmethod
    def check(self) -> None:
        """Raise ``StorageError`` unless the store can take a file now (cheap, leaves nothing
        behind; /readyz runs it)."""

    def is_empty(self) -> bool:
        return next(iter(self.keys()), None) is None


class LocalFileStore(FileStore):
    """A local directory; a key is a relative path under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file of ``key`` (only this back end has paths)."""
        check_key(key)
        resolved = (self.root / key).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError("key outside the store")
        return resolved

    def write(self, key: str, content: bytes) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                dir=target.parent, prefix=".tmp-", delete=False
            ) as handle:
                temporary = Path(handle.name)
                try:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                except BaseException:
                    handle.close()
                    temporary.unlink(missing_ok=True)
                    raise
            os.replace(temporary, target)
        except OSError as exc:  # a full or read-only disk: as the object store reports its own
            raise self._failed("put", key, exc) from None

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._failed("delete", key, exc) from None

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return iter(())
        found = []
        for path in self.root.rglob("*"):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and _KEY.fullmatch(relative):  # skips .tmp- files of a write
                found.append(relative)
        return iter(sorted(found))

    def describe(self) -> str:
        return f"文件目录 {self.root}"

    def check(self) -> None:
        """The directory exists and a file can be written in it: an unnamed temporary file
        (``O_TMPFILE``, or a ``.tmp-`` name removed at once where that is not supported)."""
        try:
            if not self.root.is_dir():
                missing = NotADirectoryError if self.root.exists() else FileNotFoundError
                raise missing(f"{self.root} is not a directory")
            with tempfile.TemporaryFile(dir=self.root, prefix=".tmp-check-") as handle:
                handle.write(b"ready")
                handle.flush()
        except OSError as exc:
            raise self._failed("check", None, exc) from None

    def _failed(self, operation: str, key: str | None, exc: OSError) -> StorageError:
        error = _log_local_failure(operation, self.root, exc)
        if operation == "check":
            return StorageError(f"{self.describe()} 不可写入（{error}）")
        return StorageError(f"{self.describe()} {_VERBS[operation]}文件 {key} 失败（{error}）")


class S3FileStore(FileStore):
    """An S3-compatible bucket; a key is stored as the object ``<prefix>/<key>``."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        check_client: Callable[[], Any] | None = None,
    ) -> None:
        """``check_client`` gives the client ``check`` uses (``from_settings`` passes one with
        short timeouts and no retries, made at the first check); without it, ``client``."""
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self._check_client = check_client or (lambda: client)

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _failed(self, operation: str, key: str | None, exc: Exception) -> StorageError:
        code = _error_code(exc) or type(exc).__name__
        log.warning(
            "storage_error",
            backend="s3",
            operation=operation,
            bucket=self.bucket,
            key=key,
            error=code,
        )
        what = f"文件 {key} " if key else ""
        verb = _VERBS.get(operation, operation)
        return StorageError(f"对象存储 {self.describe()} {verb}{what}失败（{code}）")

    def write(self, key: str, content: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        md5 = hashlib.md5(content, usedforsecurity=False).digest()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._name(key),
                Body=content,
                ContentMD5=base64.b64encode(md5).decode("ascii"),
                ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream",
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._failed("put", key, exc) from None

    def read(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
            return response["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(f"{self.describe()}: no stored file {key}") from None
            raise self._failed("get", key, exc) from None
        except BotoCoreError as exc:
            raise self._failed("get", key, exc) from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._failed("head", key, exc) from None
        except BotoCoreError as exc:
            raise self._failed("head", key, exc) from None
        return True

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._failed("delete", key, exc) from None

    def keys(self) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        start = f"{self.prefix}/" if self.prefix else ""
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(start) :]
                    if _KEY.fullmatch(key):  # not "folder" markers or foreign names
                        found.append(key)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed("list", None, exc) from None
        return iter(sorted(found))

    def describe(self) -> str:
        location = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        return f"{location}（{self.endpoint}）" if self.endpoint else location

    def check(self) -> None:
        """One HEAD of the bucket: it is reachable, exists and the credentials are accepted."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._check_client().head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed("check", None, exc) from None


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "") or None
    return None


@lru_cache(maxsize=8)
def _s3_client(
    endpoint: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
    addressing_style: str,
    *,
    for_check: bool = False,
) -> Any:
    """One boto3 client per configuration (clients are thread-safe; creating one is slow).
    Without keys, boto3's standard chain applies (AWS_* variables, ~/.aws, instance roles).
    ``for_check``: the readiness check's client, one try of at most ``CHECK_TIMEOUT`` seconds
    to connect and as many to read."""
    import boto3
    from botocore.config import Config

    if for_check:
        timeouts: dict[str, Any] = {
            "connect_timeout": CHECK_TIMEOUT,
            "read_timeout": CHECK_TIMEOUT,
            "retries": {"total_max_attempts": 1, "mode": "standard"},
        }
    else:
        timeouts = {
            "connect_timeout": 5,
            "read_timeout": 30,
            "retries": {"max_attempts": 3, "mode": "standard"},
        }
    config = Config(
        **timeouts,
        s3={"addressing_style": addressing_style},
        # CRC checksums by default (botocore ≥ 1.36) are refused by some S3-compatible
        # stores; integrity is checked with Content-MD5 on every put instead.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
    )
    return session.client("s3", endpoint_url=endpoint, config=config)
