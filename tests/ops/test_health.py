from bot import migrate


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_when_everything_is_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_readyz_reports_a_pending_migration(app, client, monkeypatch):
    monkeypatch.setattr(migrate, "is_current", lambda engine: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == "pending"


def test_readyz_reports_redis_down(app, client, monkeypatch):
    def refuse():
        raise ConnectionError("down")

    monkeypatch.setattr(app.extensions["redis"].client, "ping", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"] == "unreachable"


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"] == (
        "abc123"
    )
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
