"""Images and files through the outbox: the row holds a storage key (never bytes); the sender
uploads the stored file once per key (batches, campaigns and retries reuse the media_id for
less than WeCom's 3 days), retries or dead-letters a failed upload, and sends each row once."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from bot.core.models import OutboxMessage, OutboxStatus, Role
from bot.core.storage import FileStore
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.outbox import sender
from bot.outbox.lease import MAX_ATTEMPTS
from bot.outbox.media import MEDIA_REUSE
from bot.outbox.queue import Message, enqueue
from bot.outbox.sender import drain_once
from tests.factories import add_person
from tests.outbox.conftest import AGENT_ID, CALLBACK_URL, CORP_ID, PEOPLE, SECRET

NOW = datetime(2026, 3, 10, 2, 7, tzinfo=UTC)
WORKBOOK_NAME = "2025-2026-全校导师考核结果（公示）.xlsx"


class Clock:
    """The fake WeCom's clock (media expire after 3 days of it)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeWeCom:  # the conftest's fake, with a clock the test moves
    state = FakeWeCom(
        corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, clock=clock, callback_url=CALLBACK_URL
    )
    for userid in PEOPLE:
        state.add_user(userid, userid)
    return state


@pytest.fixture
def files(app) -> FileStore:
    return FileStore.from_settings(app.extensions["settings"], app.instance_path)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (7, 193, 96)).save(out, format="PNG")
    return out.getvalue()


def _drain(app, wecom, files, now=NOW, **options):
    database, store = app.extensions["database"], app.extensions["redis"]
    return drain_once(database, wecom, store, now, files=files, **options)


def _enqueue(database, userids, message, key, now=NOW) -> int:
    with database.session() as session:
        return enqueue(session, userids, message, key=key, now=now)


def _rows(database) -> dict[str, OutboxMessage]:
    with database.session() as session:
        return {row.key: row for row in session.scalars(sa.select(OutboxMessage))}


def _media_ids(fake, userid) -> list[str]:
    return [d.content["media_id"] for d in fake.sent_to(userid)]


def test_an_image_is_uploaded_once_across_batches_and_sent_once(
    app, database, wecom, fake, files, monkeypatch
):
    monkeypatch.setattr(sender, "MAX_RECIPIENTS_PER_CALL", 2)  # 5 people: 3 calls
    png = _png()
    stored = files.put(png, ".png", NOW)
    assert _enqueue(database, PEOPLE, Message.image(stored.key, "考核图表.png"), "chart") == 5
    row = _rows(database)["chart:zhangsan"]
    assert row.payload == {
        "msgtype": "image",
        "image": {"storage_key": stored.key, "filename": "考核图表.png"},
    }  # the row names the stored file; the bytes stay in the store

    report = _drain(app, wecom, files)
    assert (report.sent, report.calls, report.failed) == (5, 3, 0)
    assert fake.calls("media/upload") == ["media/upload"]
    assert len(fake.calls("message/send")) == 3
    [media_id] = {media_id for userid in PEOPLE for media_id in _media_ids(fake, userid)}
    assert all(len(fake.sent_to(userid)) == 1 for userid in PEOPLE)
    assert fake.sent_to("lisi")[0].msgtype == "image"
    assert fake.media(media_id).content == png
    assert _drain(app, wecom, files, NOW + timedelta(minutes=5)).claimed == 0

    # a later campaign with the same stored file reuses the media_id while it is young …
    later = NOW + timedelta(days=1)
    _enqueue(database, ["zhangsan"], Message.image(stored.key, "考核图表.png"), "again", later)
    assert _drain(app, wecom, files, later).sent == 1
    assert fake.calls("media/upload") == ["media/upload"]
    assert _media_ids(fake, "zhangsan") == [media_id, media_id]
    # … and uploads it again before WeCom's 3 days are over
    older = NOW + MEDIA_REUSE + timedelta(seconds=1)
    _enqueue(database, ["lisi"], Message.image(stored.key, "考核图表.png"), "old", older)
    assert _drain(app, wecom, files, older).sent == 1
    assert len(fake.calls("media/upload")) == 2
    assert _media_ids(fake, "lisi")[-1] != media_id


def test_a_file_arrives_with_its_chinese_name_and_content(app, database, wecom, fake, files):
    content = b"PK\x03\x04 the results workbook"
    stored = files.put(content, ".xlsx", NOW)
    _enqueue(database, ["shuyuan_admin"], Message.file(stored.key, WORKBOOK_NAME), "book")
    assert _drain(app, wecom, files).sent == 1
    [delivered] = fake.sent_to("shuyuan_admin")
    assert delivered.msgtype == "file"
    media = fake.media(delivered.content["media_id"])
    assert (media.filename, media.content, media.media_type) == (WORKBOOK_NAME, content, "file")


def test_a_failed_upload_is_retried_and_the_message_sent_exactly_once(
    app, database, wecom, fake, files
):
    stored = files.put(_png(), ".png", NOW)
    _enqueue(database, ["zhangsan", "lisi"], Message.image(stored.key, "图表.png"), "chart")
    fake.inject_fault("media/upload", errcode=-1)
    report = _drain(app, wecom, files)
    assert (report.sent, report.errors) == (0, {"errcode -1": 1})
    assert fake.calls("message/send") == []
    row = _rows(database)["chart:zhangsan"]
    assert row.status == OutboxStatus.PENDING and row.last_error.startswith("errcode -1")
    assert _drain(app, wecom, files, NOW + timedelta(seconds=29)).claimed == 0
    assert _drain(app, wecom, files, NOW + timedelta(seconds=31)).sent == 2
    assert _drain(app, wecom, files, NOW + timedelta(hours=1)).claimed == 0
    assert len(fake.calls("media/upload")) == 2 and len(fake.calls("message/send")) == 1
    assert len(fake.sent_to("zhangsan")) == 1 and len(fake.sent_to("lisi")) == 1


def test_a_resend_after_a_lost_answer_is_identical(app, database, wecom, fake, files):
    """The send's answer is lost (timeout) after WeCom delivered: the retry carries the same
    media_id (no second upload), so WeCom's duplicate check suppresses it."""
    stored = files.put(_png(), ".png", NOW)
    _enqueue(database, ["zhangsan"], Message.image(stored.key, "图表.png"), "chart")
    fake.inject_fault("message/send", hang=True)
    try:
        assert "WeComTimeout" in _drain(app, wecom, files).errors
    finally:
        fake.release_hangs()
    deadline = time.monotonic() + 5
    while not fake.sent_to("zhangsan") and time.monotonic() < deadline:
        time.sleep(0.02)  # the hung call is answered late and delivers
    assert _drain(app, wecom, files, NOW + timedelta(seconds=31)).sent == 1
    [first] = _media_ids(fake, "zhangsan")  # the resend was identical: WeCom dropped it
    assert fake.last_body("message/send")["image"]["media_id"] == first
    assert len(fake.calls("media/upload")) == 1 and len(fake.calls("message/send")) == 2


def test_a_media_id_wecom_no_longer_knows_is_uploaded_again(
    app, database, wecom, fake, files, clock
):
    stored = files.put(_png(), ".png", NOW)
    _enqueue(database, ["zhangsan"], Message.image(stored.key, "图表.png"), "one")
    assert _drain(app, wecom, files).sent == 1
    clock.now += 3 * 24 * 3600 + 1  # WeCom dropped the media although our cache is young
    later = NOW + timedelta(hours=12)
    _enqueue(database, ["lisi"], Message.image(stored.key, "图表.png"), "two", later)
    report = _drain(app, wecom, files, later)
    assert (report.sent, report.errors) == (0, {"errcode 40007": 1})
    assert _drain(app, wecom, files, later + timedelta(seconds=31)).sent == 1
    assert len(fake.calls("media/upload")) == 2
    assert len(fake.sent_to("lisi")) == 1


def test_a_stored_file_that_is_gone_becomes_a_dead_letter_and_alerts(
    app, database, wecom, fake, files
):
    with database.session() as session:
        add_person(session, "sysadmin", "马骏", Role.SYSTEM_ADMIN)
    _enqueue(database, ["zhangsan"], Message.image("2026/03/gone.png", "图表.png"), "gone")
    report = _drain(app, wecom, files=None)  # a sender without a store fails the same way
    assert report.errors == {"MediaError": 1}
    now = NOW
    for _ in range(MAX_ATTEMPTS - 1):
        now += timedelta(hours=3)
        report = _drain(app, wecom, files, now)
    assert report.dead == 1
    row = _rows(database)["gone:zhangsan"]
    assert row.status == OutboxStatus.DEAD and "gone.png unreadable" in row.last_error
    assert fake.calls("media/upload") == [] and fake.sent_to("zhangsan") == []
    alerts = [row for key, row in _rows(database).items() if key.startswith("alert:")]
    assert [row.userid for row in alerts] == ["sysadmin"]
    assert "MediaError" in alerts[0].payload["text"]["content"]
