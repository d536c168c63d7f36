import shutil
from pathlib import Path

import pytest
import redis
import structlog

from bot import create_app
from bot.core import migrate
from tests.live import reset_installation
from tests.storage.stubs import unwritable


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_when_everything_is_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok", "file_store": "ok"},
    }


def test_readyz_reports_a_pending_migration(app, client, monkeypatch):
    monkeypatch.setattr(migrate, "is_current", lambda engine: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == "pending"


@pytest.mark.parametrize(
    "failure",
    [redis.exceptions.ConnectionError("refused"), redis.exceptions.TimeoutError("timed out")],
)
def test_readyz_reports_redis_down(app, client, monkeypatch, failure):
    def refuse():
        raise failure

    monkeypatch.setattr(app.extensions["redis"].client, "ping", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"] == "unreachable"


def test_the_file_store_directory_is_made_at_start(app, settings_overrides):
    assert Path(settings_overrides["STORAGE_DIR"]).is_dir()  # fresh installations are ready


def test_readyz_reports_the_file_store_directory_gone(client, settings_overrides):
    shutil.rmtree(settings_overrides["STORAGE_DIR"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert response.json["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "redis": "ok",
        "file_store": "unavailable",
    }
    assert not Path(settings_overrides["STORAGE_DIR"]).exists()  # the check makes nothing


def test_readyz_reports_an_unwritable_file_store(client, settings_overrides):
    with unwritable(Path(settings_overrides["STORAGE_DIR"])):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["file_store"] == "unavailable"
    assert client.get("/readyz").status_code == 200  # writable again


def test_a_file_store_directory_that_cannot_be_made_is_not_ready(settings_overrides, tmp_path):
    (tmp_path / "a-file").write_bytes(b"")
    overrides = {**settings_overrides, "STORAGE_DIR": str(tmp_path / "a-file" / "storage")}
    with structlog.testing.capture_logs() as logs:
        app = create_app(overrides)  # starts all the same
    try:
        assert [(entry["operation"], entry["error"]) for entry in logs] == [
            ("mkdir", "NotADirectoryError")
        ]
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["file_store"] == "unavailable"
    finally:
        reset_installation(app)


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"] == (
        "abc123"
    )
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
