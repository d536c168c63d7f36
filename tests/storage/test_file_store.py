"""The FileStore interface, the same on both back ends: a local directory and an S3-compatible
object store (moto's server over HTTP); the factory; failures of the object store."""

import hashlib
from datetime import UTC, datetime

import pytest
import structlog

from bot.core.settings import SettingsError, load_settings
from bot.core.storage import FileStore, LocalFileStore, S3FileStore, StorageError
from tests.live import free_port
from tests.storage.s3 import new_bucket, object_names, s3_settings

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PHOTO = b"\xff\xd8\xff\xe0" + b"photo" * 200
SECRET = b"%PDF-1.4 care note: very private"


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_endpoint, s3_client, settings_overrides) -> FileStore:
    if request.param == "local":
        overrides = {**settings_overrides, "STORAGE_URL": None}
    else:
        overrides = {**settings_overrides, **s3_settings(s3_endpoint, new_bucket(s3_client))}
    store = FileStore.from_settings(load_settings(overrides, env_file=None), tmp_path)
    assert isinstance(store, LocalFileStore if request.param == "local" else S3FileStore)
    return store


def test_put_read_exists_delete_and_keys(store):
    assert store.is_empty()
    stored = store.put(PHOTO, ".JPG", NOW)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert stored.key == f"2026/11/{digest}.jpg"
    assert (stored.sha256, stored.size) == (digest, len(PHOTO))
    assert store.put(PHOTO, ".jpg", NOW) == stored  # content-addressed: stored once
    assert store.read(stored.key) == PHOTO
    assert store.exists(stored.key)
    other = store.put(b"%PDF-1.4 plan", ".pdf", datetime(2025, 3, 1, tzinfo=UTC))
    store.write("2026/12/exact-name.xlsx", b"PK\x03\x04 workbook")
    assert list(store.keys()) == sorted([stored.key, other.key, "2026/12/exact-name.xlsx"])
    assert not store.is_empty()
    store.delete(stored.key)
    store.delete(stored.key)  # deleting what is not there is fine
    assert not store.exists(stored.key)
    with pytest.raises(FileNotFoundError):
        store.read(stored.key)
    assert list(store.keys()) == sorted([other.key, "2026/12/exact-name.xlsx"])


@pytest.mark.parametrize("key", ["../outside.txt", "/etc/passwd", "a//b", "2026/.hidden", ""])
def test_keys_outside_the_store_are_refused(store, key):
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        store.write(key, b"x")


def test_the_prefix_keeps_installations_apart(s3_endpoint, s3_client, settings_overrides, tmp_path):
    bucket = new_bucket(s3_client)
    first, second = (
        FileStore.from_settings(
            load_settings(
                {**settings_overrides, **s3_settings(s3_endpoint, bucket, prefix)}, env_file=None
            ),
            tmp_path,
        )
        for prefix in ("one/files", "two")
    )
    stored = first.put(PHOTO, ".jpg", NOW)
    assert object_names(s3_client, bucket) == [f"one/files/{stored.key}"]
    assert list(first.keys()) == [stored.key]
    assert second.is_empty() and not second.exists(stored.key)
    s3_client.put_object(Bucket=bucket, Key="one/files/folder/", Body=b"")  # a console "folder"
    assert list(first.keys()) == [stored.key]


def test_the_local_store_ignores_unfinished_writes(tmp_path):
    store = LocalFileStore(tmp_path)
    stored = store.put(PHOTO, ".jpg", NOW)
    (tmp_path / "2026" / "11" / ".tmp-abc123").write_bytes(b"half")
    assert list(store.keys()) == [stored.key]
    assert store.path(stored.key) == (tmp_path / stored.key).resolve()


def test_the_factory_reads_the_settings(settings_overrides, s3_endpoint, tmp_path):
    local = {**settings_overrides, "STORAGE_URL": None}
    store = FileStore.from_settings(load_settings(local, env_file=None), tmp_path)
    assert isinstance(store, LocalFileStore)
    assert store.root == load_settings(local, env_file=None).storage_dir(tmp_path)
    settings = load_settings(settings_overrides, env_file=None)
    first = FileStore.from_settings(settings, tmp_path)
    again = FileStore.from_settings(settings, tmp_path)
    assert isinstance(first, S3FileStore)
    assert (first.bucket, first.prefix) == (settings.s3_location() or ("", ""))
    assert first.prefix == "mentor-bot"
    assert first.client is again.client  # one boto3 client per configuration
    assert "testing" not in first.describe()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"STORAGE_URL": "s3://Bad_Bucket"}, "STORAGE_URL must be s3://bucket"),
        ({"STORAGE_URL": "https://bucket.example"}, "STORAGE_URL must be s3://bucket"),
        ({"STORAGE_URL": "s3://bucket/a/../b"}, "STORAGE_URL prefix must not contain"),
        ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be an http(s) URL"),
        ({"S3_SECRET_ACCESS_KEY": None}, "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set"),
        ({"S3_ADDRESSING_STYLE": "dns"}, "S3_ADDRESSING_STYLE"),
    ],
)
def test_bad_storage_settings_are_one_line(settings_overrides, overrides, message):
    with pytest.raises(SettingsError) as raised:
        load_settings({**settings_overrides, **overrides}, env_file=None)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_empty_values_mean_unset(settings_overrides):
    blank = dict.fromkeys(
        ("STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"),
        "",
    )
    settings = load_settings({**settings_overrides, **blank}, env_file=None)
    assert settings.s3_location() is None


def test_object_store_failures_are_storage_errors_without_contents(
    settings_overrides, s3_endpoint, tmp_path
):
    missing = {**settings_overrides, **s3_settings(s3_endpoint, "no-such-bucket-here")}
    store = FileStore.from_settings(load_settings(missing, env_file=None), tmp_path)
    with structlog.testing.capture_logs() as logs, pytest.raises(StorageError) as raised:
        store.put(SECRET, ".pdf", NOW)
    assert isinstance(raised.value, OSError)
    assert "写入文件" in str(raised.value) and "NoSuchBucket" in str(raised.value)
    [entry] = [entry for entry in logs if entry["event"] == "storage_error"]
    assert entry["operation"] == "put" and entry["error"] == "NoSuchBucket"
    assert "private" not in repr(logs) and "private" not in str(raised.value)
    with pytest.raises(StorageError):
        list(store.keys())


def test_an_unreachable_object_store_is_a_storage_error(settings_overrides, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    overrides = {**settings_overrides, **s3_settings(closed, "mentor-bot")}
    store = FileStore.from_settings(load_settings(overrides, env_file=None), tmp_path)
    with pytest.raises(StorageError) as raised:
        store.read("2026/11/abc.jpg")
    assert "读取文件 2026/11/abc.jpg 失败" in str(raised.value)


def test_local_disk_failures_are_storage_errors_without_contents(tmp_path):
    """A disk that refuses (here: a file where the month's folder should be) is reported as
    the object store's failures are, so the callers' StorageError handling covers both."""
    store = LocalFileStore(tmp_path / "store")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "2026").write_bytes(b"not a folder")
    with structlog.testing.capture_logs() as logs, pytest.raises(StorageError) as raised:
        store.put(SECRET, ".pdf", NOW)
    digest = hashlib.sha256(SECRET).hexdigest()
    assert f"写入文件 2026/11/{digest}.pdf 失败" in str(raised.value)
    with pytest.raises(StorageError) as refused:
        store.delete("2026/11/x.pdf")
    assert "删除文件 2026/11/x.pdf 失败" in str(refused.value)
    assert [entry["operation"] for entry in logs if entry["event"] == "storage_error"] == ["put"]
    assert "private" not in repr(logs) and "private" not in str(raised.value)
