"""The readiness check of each back end (``FileStore.check``, run by /readyz): a writable
directory, a reachable bucket; and a missing or unwritable directory, a missing bucket, an
object store that refuses, never answers or never connects, each reported within about 2 s.
(/readyz with a local directory: tests/ops/test_health.py.)"""

import time

import pytest
import structlog

from bot.core.settings import load_settings
from bot.core.storage import FileStore, LocalFileStore, StorageError
from tests.storage.s3 import object_names, s3_settings
from tests.storage.stubs import ENDPOINTS, silent_endpoint, unwritable

PROMPTLY = 2.0  # CHECK_TIMEOUT (1 s) to connect or to read, one try


def _failure(store: FileStore) -> tuple[str, dict]:
    with structlog.testing.capture_logs() as logs, pytest.raises(StorageError) as raised:
        store.check()
    [entry] = [entry for entry in logs if entry["event"] == "storage_error"]
    assert entry["operation"] == "check"
    return str(raised.value), entry


def test_a_writable_directory_is_ready_and_left_as_it_was(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    LocalFileStore(root).check()
    assert list(root.iterdir()) == []


def test_a_missing_directory_is_not_ready_and_not_made(tmp_path):
    store = LocalFileStore(tmp_path / "gone")
    message, entry = _failure(store)
    assert "不可写入" in message and entry["error"] == "FileNotFoundError"
    assert not store.root.exists()


def test_a_file_in_place_of_the_directory_is_not_ready(tmp_path):
    (tmp_path / "files").write_bytes(b"not a directory")
    message, entry = _failure(LocalFileStore(tmp_path / "files"))
    assert "不可写入" in message and entry["error"] == "NotADirectoryError"


def test_an_unwritable_directory_is_not_ready(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    with unwritable(root):
        message, entry = _failure(LocalFileStore(root))
    assert "不可写入" in message and entry["error"] == "PermissionError"
    assert list(root.iterdir()) == []


def _s3_store(settings_overrides, tmp_path, endpoint: str, bucket: str) -> FileStore:
    overrides = {**settings_overrides, **s3_settings(endpoint, bucket)}
    return FileStore.from_settings(load_settings(overrides, env_file=None), tmp_path)


def test_a_reachable_bucket_is_ready_and_nothing_is_written(
    settings_overrides, s3_endpoint, s3_client, s3_bucket, tmp_path
):
    _s3_store(settings_overrides, tmp_path, s3_endpoint, s3_bucket).check()
    assert object_names(s3_client, s3_bucket) == []


def test_a_missing_bucket_is_not_ready(settings_overrides, s3_endpoint, tmp_path):
    store = _s3_store(settings_overrides, tmp_path, s3_endpoint, "no-such-bucket-here")
    message, entry = _failure(store)
    assert "检查失败" in message and entry["error"] == "404"


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_a_failing_object_store_is_not_ready_within_2_seconds(kind, settings_overrides, tmp_path):
    with ENDPOINTS[kind]() as endpoint:
        store = _s3_store(settings_overrides, tmp_path, endpoint, "mentor-bot")
        message, _ = _failure(store)  # the first check also makes its client (~0.3 s)
        started = time.monotonic()
        _failure(store)
        elapsed = time.monotonic() - started
    assert elapsed < PROMPTLY, f"{kind}: {elapsed:.2f} s"
    assert "检查失败" in message


def test_readyz_with_the_bucket(client, s3_client, s3_bucket):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["file_store"] == "ok"
    assert object_names(s3_client, s3_bucket) == []


def test_readyz_is_not_ready_within_2_seconds_while_the_object_store_hangs(
    app, client, settings_overrides, tmp_path
):
    with silent_endpoint() as endpoint:
        app.extensions["file_store"] = _s3_store(
            settings_overrides, tmp_path, endpoint, "mentor-bot"
        )
        client.get("/readyz")  # the first also makes the check's client
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert elapsed < PROMPTLY, f"{elapsed:.2f} s"
    assert response.status_code == 503
    assert response.json == {
        "status": "not ready",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "redis": "ok",
            "file_store": "unavailable",
        },
    }
