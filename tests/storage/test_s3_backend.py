"""The bot with its files in an S3-compatible object store (moto's server over HTTP): the
upload page, photo evidence fetched from WeCom, backup → restore, retention; and what happens
while the object store fails (nothing half-saved, a Chinese message for the person waiting)."""

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot import create_app
from bot.core.db import get_database
from bot.core.models import (
    AcademicYear,
    AuditEntry,
    EvidenceFile,
    EvidenceStatus,
    OutboxMessage,
    Record,
    RecordKind,
    Role,
)
from bot.core.storage import FileStore, S3FileStore, StorageError
from bot.ops.retention.purge import purge
from bot.records.evidence import fetch_pending_evidence
from bot.wecom.client import DownloadedMedia
from tests.factories import add_person
from tests.live import LiveApp, serve
from tests.ops.test_backup import _dump, _seed
from tests.ops.test_retention import _counts, _world
from tests.storage.s3 import object_names

PDF = b"%PDF-1.4\n" + b"0" * 2000
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 100


def _store(app) -> FileStore:
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    assert isinstance(store, S3FileStore)
    return store


def _nothing_local(overrides) -> bool:
    root = Path(overrides["STORAGE_DIR"])
    return not root.exists() or not any(root.rglob("*"))


# -- the upload page --------------------------------------------------------------------------


def _this_year() -> AcademicYear:
    today = date.today()
    first = today.year if today.month >= 9 else today.year - 1
    return AcademicYear(
        code=f"{first}-{first + 1}", starts_on=date(first, 9, 1), ends_on=date(first + 1, 8, 31)
    )


@pytest.fixture
def live(settings_overrides) -> Iterator[LiveApp]:
    with serve(settings_overrides) as live:
        with get_database(live.app).session() as session:
            session.add(_this_year())
            add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        live.simulator.state.add_user("wanglaoshi", "王老师")
        yield live


def _upload(live: LiveApp, purpose: str) -> requests.Response:
    browser = requests.Session()
    browser.cookies.set("sim_userid", "wanglaoshi", domain="127.0.0.1", path="/simulator")
    page = browser.get(f"{live.base_url}/m/upload?purpose={purpose}", timeout=10)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return browser.post(
        live.base_url + "/m/upload",
        data={"csrf": csrf, "purpose": purpose},
        files={"file": ("学期计划.pdf", PDF, "application/pdf")},
        timeout=30,
    )


def test_an_uploaded_plan_is_stored_in_the_bucket(live, settings_overrides, s3_client, s3_bucket):
    answer = _upload(live, "semester_plan")
    assert answer.status_code == 200, answer.text
    assert "上传成功" in answer.text
    with get_database(live.app).session() as session:
        evidence = session.scalars(sa.select(EvidenceFile)).one()
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert _store(live.app).read(evidence.storage_key) == PDF
    assert object_names(s3_client, s3_bucket) == [f"mentor-bot/{evidence.storage_key}"]
    assert _nothing_local(settings_overrides)


def test_an_upload_while_the_bucket_fails_saves_nothing_and_says_so(live, s3_client, s3_bucket):
    s3_client.delete_bucket(Bucket=s3_bucket)  # empty: nothing uploaded yet
    answer = _upload(live, "monthly_plan")
    assert answer.status_code == 503
    assert "文件存储暂时无法使用，这次上传没有保存" in answer.text
    with get_database(live.app).session() as session:
        for model in (EvidenceFile, Record, OutboxMessage, AuditEntry):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


# -- photo evidence ---------------------------------------------------------------------------


class FakeMediaClient:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def download_media(self, media_id: str) -> DownloadedMedia:
        self.calls.append(media_id)
        return DownloadedMedia(JPEG, "image/jpeg", f"{media_id}.jpg")


def _pending_photos(database, *media_ids: str) -> None:
    now = datetime.now(UTC)
    with database.session() as session:
        mentor = add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        year = _this_year()
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
        )
        session.add(record)
        session.flush()
        for media_id in media_ids:
            session.add(
                EvidenceFile(
                    owner_id=mentor.id,
                    record_id=record.id,
                    purpose="photo",
                    media_id=media_id,
                    status=EvidenceStatus.PENDING,
                    created_at=now,
                )
            )


def _photos(database) -> list[EvidenceFile]:
    with database.session() as session:
        return list(session.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)))


def test_fetched_photos_are_stored_in_the_bucket(
    app, database, settings_overrides, s3_client, s3_bucket
):
    _pending_photos(database, "media-1")
    report = fetch_pending_evidence(database, FakeMediaClient(), _store(app), datetime.now(UTC))
    assert (report.stored, report.failed) == (1, 0)
    [photo] = _photos(database)
    assert photo.status == EvidenceStatus.STORED
    assert photo.storage_key.endswith(".jpg")
    assert _store(app).read(photo.storage_key) == JPEG
    assert object_names(s3_client, s3_bucket) == [f"mentor-bot/{photo.storage_key}"]
    assert _nothing_local(settings_overrides)


def test_photos_stay_pending_while_the_bucket_fails(app, database, s3_client, s3_bucket):
    _pending_photos(database, "media-1", "media-2")
    s3_client.delete_bucket(Bucket=s3_bucket)
    client = FakeMediaClient()
    report = fetch_pending_evidence(database, client, _store(app), datetime.now(UTC))
    assert (report.stored, report.failed) == (0, 1)
    assert client.calls == ["media-1"]  # the pass stops at the first storage failure
    assert [photo.status for photo in _photos(database)] == [EvidenceStatus.PENDING] * 2
    assert all(photo.storage_key is None for photo in _photos(database))
    s3_client.create_bucket(Bucket=s3_bucket)  # back again: the next pass stores both
    again = fetch_pending_evidence(database, client, _store(app), datetime.now(UTC))
    assert (again.stored, again.failed) == (2, 0)


# -- backup and restore -----------------------------------------------------------------------


def test_backup_and_restore_round_trip_through_the_bucket(
    app, database, runner, empty_s3_installation, s3_client, s3_bucket, tmp_path
):
    _seed(app, database)
    source_store = _store(app)
    [key] = list(source_store.keys())
    backup_dir = tmp_path / "backup"
    result = runner.invoke(args=["backup", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert "已备份数据库和 1 个文件" in result.output
    manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [entry["path"] for entry in manifest["files"]] == [key]
    assert (backup_dir / "files" / key).read_bytes() == source_store.read(key)

    restored = create_app(empty_s3_installation)
    outcome = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert outcome.exit_code == 0, outcome.output
    restored_db = restored.extensions["database"]
    try:
        assert _dump(restored_db.engine) == _dump(database.engine)
        target = _store(restored)
        assert target.bucket != source_store.bucket and target.prefix == "restored"
        assert list(target.keys()) == [key]
        assert target.read(key) == source_store.read(key)
        assert object_names(s3_client, target.bucket) == [f"restored/{key}"]
        again = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
        assert again.exit_code != 0  # not an empty installation any more
    finally:
        restored_db.dispose()


def test_restore_refuses_a_bucket_prefix_that_is_not_empty(
    app, database, runner, empty_s3_installation, tmp_path
):
    _seed(app, database)
    runner.invoke(args=["backup", str(tmp_path / "b")])
    restored = create_app(empty_s3_installation)
    _store(restored).write("2020/01/left-over.png", b"\x89PNG")
    result = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    restored_db = restored.extensions["database"]
    try:
        assert result.exit_code != 0
        assert "不是空的：只能恢复到全新的安装中" in result.output
        assert "s3://" in result.output
        assert not sa.inspect(restored_db.engine).get_table_names()  # database untouched
    finally:
        restored_db.dispose()


def test_backup_stops_with_a_message_when_the_bucket_fails(
    app, database, runner, s3_client, s3_bucket, tmp_path
):
    s3_client.delete_bucket(Bucket=s3_bucket)
    result = runner.invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "无法读取存储的文件" in result.output and "NoSuchBucket" in result.output


# -- retention --------------------------------------------------------------------------------


def test_retention_purge_deletes_the_evidence_from_the_bucket(
    app, database, runner, s3_client, s3_bucket
):
    store, photo = _world(app, database)
    assert object_names(s3_client, s3_bucket) == [f"mentor-bot/{photo.key}"]
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "佐证文件：1 个" in result.output
    assert not store.exists(photo.key)
    assert object_names(s3_client, s3_bucket) == []
    assert _counts(database)["EvidenceFile"] == 0


class BrokenStore(S3FileStore):
    def delete(self, key: str) -> None:
        raise StorageError("对象存储 删除文件失败（ServiceUnavailable）")


def test_a_failed_delete_leaves_the_purge_undone(app, database, s3_client, s3_bucket):
    store, photo = _world(app, database)
    before = _counts(database)
    broken = BrokenStore(store.client, store.bucket, store.prefix)
    with pytest.raises(StorageError), database.session() as session:
        purge(session, broken, datetime.now(UTC), keep_years=3, dry_run=False)
    assert _counts(database) == before  # rolled back: run it again later
    assert store.read(photo.key)
