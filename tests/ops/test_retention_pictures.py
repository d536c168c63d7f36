"""Retention of stored progress pictures and charts: they go with the years they were drawn
from (RETENTION_YEARS after the cycle closed), together with the finished messages that sent
them; evidence, files still to be sent and anything newer stay."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    AuditEntry,
    EvidenceFile,
    EvidenceStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
)
from bot.core.storage import LocalFileStore, StorageError
from bot.ops.retention.pictures import PICTURE_KEY, kept_from, stored_before
from bot.ops.retention.purge import purge
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from handlers.progress import IMAGE_FILENAME
from tests.ops.test_retention import CLOSED, _world

PNG = b"\x89PNG\r\n\x1a\n"
CHART_FILENAME = "2021-2022-计算机学院-考核图表.png"


def _picture(store, database, name, stored_at, *, status=None, filename=IMAGE_FILENAME):
    """A PNG saved at ``stored_at`` and, with ``status``, the message that sends it."""
    stored = store.put(PNG + name.encode(), ".png", stored_at)
    if status is not None:
        with database.session() as session:
            outbox.enqueue(
                session, ["wanglaoshi"], Message.image(stored.key, filename),
                key=f"picture:{name}", now=stored_at,
            )  # fmt: skip
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.key == f"picture:{name}:wanglaoshi")
                .values(status=status)
            )
    return stored.key


def _pictures_world(app, database):
    """The retention world (2021-2022, closed 2022-09-20, expired) with stored files of
    every kind; returns (store, {name: key})."""
    store, _ = _world(app, database)

    def picture(name, stored_at, **message):
        return _picture(store, database, name, stored_at, **message)

    sent, queued = OutboxStatus.SENT, OutboxStatus.PENDING
    keys = {
        # drawn from the expired year: they go, the sent message with the first
        "progress": picture("progress", datetime(2021, 11, 3, 9, tzinfo=UTC), status=sent),
        # no message left: pruned OUTBOX_KEEP_DAYS after it was sent
        "no-message": picture("no-message", datetime(2022, 3, 8, tzinfo=UTC)),
        # the year's last month, and its closing chart: they go with the next year
        "august": picture("august", datetime(2022, 8, 20, tzinfo=UTC)),
        "chart": picture("chart", CLOSED, status=sent, filename=CHART_FILENAME),
        # the current picture, queued and not sent yet
        "current": picture("current", datetime.now(UTC), status=queued),
        # an old one that a queued message still has to send
        "queued": picture("queued", datetime(2022, 1, 5, tzinfo=UTC), status=queued),
        # a PNG uploaded as evidence (not attached to a record): evidence, not a picture
        "evidence": store.put(PNG + b"evidence", ".png", datetime(2021, 10, 9, tzinfo=UTC)).key,
        # a stored workbook of the expired year: not a picture or chart
        "workbook": store.put(b"PK\x03\x04", ".xlsx", datetime(2021, 12, 1, tzinfo=UTC)).key,
    }
    with database.session() as session:
        mentor = session.scalars(sa.select(Person).where(Person.userid == "wanglaoshi")).one()
        session.add(
            EvidenceFile(
                owner_id=mentor.id,
                record_id=None,
                purpose="annual_summary",
                storage_key=keys["evidence"],
                status=EvidenceStatus.STORED,
                created_at=datetime(2021, 10, 9, tzinfo=UTC),
            )
        )
    return store, keys


def _messages(database):
    with database.session() as session:
        rows = session.execute(sa.select(OutboxMessage.key, OutboxMessage.status)).all()
    return {key.split(":")[1]: status for key, status in rows}  # picture:<name>:<userid>


KEPT = {"august", "chart", "current", "queued", "evidence", "workbook"}


def test_purge_deletes_the_expired_years_pictures_and_their_messages(app, database, runner):
    store, keys = _pictures_world(app, database)
    with database.session() as session:  # the purge alone, without the outbox's own pruning
        report = purge(session, store, datetime.now(UTC), keep_years=3, dry_run=False)
    assert "进度图片和图表：2 个" in report.lines()
    assert {name for name, key in keys.items() if store.exists(key)} == KEPT
    assert _messages(database) == {
        "chart": OutboxStatus.SENT,
        "current": OutboxStatus.PENDING,
        "queued": OutboxStatus.PENDING,
    }
    with database.session() as session:
        audit = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention")).one()
        assert audit.after["pictures"] == 2
        assert session.scalar(sa.select(sa.func.count(EvidenceFile.id))) == 1  # the upload

    again = runner.invoke(args=["retention", "purge"])  # idempotent: nothing left to delete
    assert again.exit_code == 0, again.output
    assert "进度图片和图表：0 个" in again.output
    assert {name for name, key in keys.items() if store.exists(key)} == KEPT
    assert set(_messages(database)) == {"current", "queued"}  # the chart's: OUTBOX_KEEP_DAYS


def test_dry_run_counts_pictures_and_deletes_none(app, database, runner):
    store, keys = _pictures_world(app, database)
    before = _messages(database)
    result = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "（演练，未删除）进度图片和图表：2 个" in result.output
    assert all(store.exists(key) for key in keys.values())
    assert _messages(database) == before


def test_an_older_year_not_expired_holds_the_pictures_back(app, database):
    """A year whose cycle never closed keeps its records, and so every later picture."""
    store, keys = _pictures_world(app, database)
    with database.session() as session:
        session.add(
            AcademicYear(code="2020-2021", starts_on=date(2020, 9, 1), ends_on=date(2021, 8, 31))
        )
    with database.session() as session:
        report = purge(session, store, datetime.now(UTC), keep_years=3, dry_run=False)
    assert report.years == ["2021-2022"] and report.evidence_files == 1
    assert report.pictures == 0
    assert all(store.exists(key) for key in keys.values())
    assert "progress" in _messages(database)


def test_pictures_are_kept_from_the_last_month_of_the_newest_expired_year(database):
    with database.session() as session:
        years = [
            AcademicYear(code=f"{y}-{y + 1}", starts_on=date(y, 9, 1), ends_on=date(y + 1, 8, 31))
            for y in (2020, 2021, 2022)
        ]
        session.add_all(years)
        session.flush()
        assert kept_from(session, []) is None
        assert kept_from(session, years[1:2]) is None  # 2020-2021 is still kept
        assert kept_from(session, years[:2]) == date(2022, 8, 1)
    key = "2022/07/" + "a" * 64 + ".png"
    assert PICTURE_KEY.fullmatch(key)
    assert stored_before(key, date(2022, 8, 1))
    assert not stored_before(key.replace("/07/", "/08/"), date(2022, 8, 1))
    assert not stored_before(key.replace(".png", ".jpg"), date(2022, 8, 1))
    assert not stored_before("2022/07/plan.png", date(2022, 8, 1))


def test_a_failing_file_store_changes_nothing_and_says_so(app, database, runner, monkeypatch):
    store, keys = _pictures_world(app, database)
    before = _messages(database)

    def unreachable(self):
        raise StorageError("对象存储 s3://bucket 列出文件失败（ServiceUnavailable）")

    monkeypatch.setattr(LocalFileStore, "keys", unreachable)
    for args in (["retention", "purge", "--dry-run"], ["retention", "purge"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert "列出文件失败（ServiceUnavailable）。数据库没有改动" in result.output
    assert all(store.exists(key) for key in keys.values())
    assert _messages(database) == before
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(EvidenceFile.id))) == 2
