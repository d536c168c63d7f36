"""Photos become pending evidence in the callback and are fetched afterwards; 我的 shows the
progress against the regulation's minimums and only aggregate ratings."""

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import structlog

from bot.core.models import EvidenceFile, EvidenceStatus, Rating, Record
from bot.core.redis_store import RedisUnavailable
from bot.core.storage import LocalFileStore
from bot.records.cli import run_fetcher
from bot.records.evidence import fetch_pending_evidence
from bot.wecom.client import DownloadedMedia
from bot.wecom.errors import WeComAPIError, WeComNetworkError
from handlers import progress
from tests.fonts import cjk_font_installed
from tests.live import serve

JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 100


def _evidence(database):
    with database.session() as session:
        return session.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)).all()


def test_a_photo_right_after_a_record_attaches_to_it_pending(phone, database, world):
    phone.say(world.mentor, "交流 张三 线上 聊选课")
    phone.new(world.mentor)
    phone.photo(world.mentor, "media-1")
    assert phone.last_text(world.mentor) == "照片已作为个别交流“聊选课”的佐证保存。"
    [photo] = _evidence(database)
    assert (photo.media_id, photo.status, photo.purpose) == (
        "media-1",
        EvidenceStatus.PENDING,
        "photo",
    )
    with database.session() as session:
        [record] = session.scalars(sa.select(Record)).all()
    assert photo.record_id == record.id


def test_a_photo_during_a_flow_is_kept_for_the_record(phone, database, world):
    phone.say(world.mentor, "关爱 张三")
    phone.new(world.mentor)
    phone.photo(world.mentor, "media-2")
    assert "照片已收到（1 张）" in phone.last_text(world.mentor)
    assert _evidence(database) == []
    phone.say(world.mentor, "学习压力大")
    assert "佐证照片：1 张" in phone.last_text(world.mentor)
    [photo] = _evidence(database)
    assert photo.media_id == "media-2"


def test_a_photo_without_a_recent_record_is_explained(phone, database, world):
    phone.photo(world.mentor, "media-3")
    assert "请先记录一次工作" in phone.last_text(world.mentor)
    assert _evidence(database) == []


def test_a_student_photo_is_refused(phone, database, world):
    phone.photo(world.student, "media-4")
    assert "只有异科导师" in phone.last_text(world.student)


class FakeMediaClient:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def download_media(self, media_id):
        self.calls.append(media_id)
        answer = self.answers[media_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _pending(database, world, *media_ids, created_at=None):
    with database.session() as session:
        record = Record(
            year_id=world.year_id,
            mentor_id=world.ids["wanglaoshi"],
            kind="contact",
            title="x",
            occurred_at=datetime.now(UTC),
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        session.add(record)
        session.flush()
        for media_id in media_ids:
            session.add(
                EvidenceFile(
                    owner_id=world.ids["wanglaoshi"],
                    record_id=record.id,
                    purpose="photo",
                    media_id=media_id,
                    status=EvidenceStatus.PENDING,
                    created_at=created_at or datetime.now(UTC),
                )
            )


def test_fetch_stores_pending_photos_by_content(database, world, tmp_path):
    _pending(database, world, "ok", "gone", "later")
    client = FakeMediaClient(
        {
            "ok": DownloadedMedia(JPEG, "image/jpeg", "p.jpg"),
            "gone": WeComAPIError(40007, "invalid media_id"),
            "later": WeComNetworkError("unreachable"),
        }
    )
    report = fetch_pending_evidence(database, client, LocalFileStore(tmp_path), datetime.now(UTC))
    assert (report.stored, report.failed) == (1, 2)
    ok, gone, later = _evidence(database)
    assert ok.status == EvidenceStatus.STORED
    assert ok.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert ok.size == len(JPEG) and ok.content_type == "image/jpeg"
    assert (tmp_path / ok.storage_key).read_bytes() == JPEG
    assert ok.storage_key.endswith(".jpg")
    assert gone.status == EvidenceStatus.FAILED  # WeCom refused it: no point retrying
    assert later.status == EvidenceStatus.PENDING  # network trouble: next run tries again
    again = fetch_pending_evidence(database, client, LocalFileStore(tmp_path), datetime.now(UTC))
    assert (again.stored, again.failed) == (0, 1)
    assert client.calls.count("ok") == 1


def test_a_photo_unreachable_for_three_days_fails(database, world, tmp_path):
    _pending(database, world, "late", created_at=datetime.now(UTC) - timedelta(days=3, hours=1))
    client = FakeMediaClient({"late": WeComNetworkError("unreachable")})
    fetch_pending_evidence(database, client, LocalFileStore(tmp_path), datetime.now(UTC))
    [photo] = _evidence(database)
    assert photo.status == EvidenceStatus.FAILED


def test_fetch_command_through_the_fake_wecom_api(settings_overrides, database, world):
    with serve(settings_overrides) as live:
        with live.app.app_context():
            media_id = live.simulator.state.store_media(JPEG, "p.jpg", "image/jpeg", "image")
        _pending(database, world, media_id)
        result = live.app.test_cli_runner().invoke(args=["evidence", "fetch"])
        assert result.exit_code == 0, result.output
        assert "已保存 1 张，未成功 0 张" in result.output
        [photo] = _evidence(database)  # before serve() empties the installation
    assert photo.status == EvidenceStatus.STORED
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest()
    stored = Path(settings_overrides["STORAGE_DIR"]) / photo.storage_key
    assert stored.read_bytes() == JPEG


def test_progress_counts_against_the_minimums(phone, database, world):
    for text in (
        "交流 张三 线上 聊选课",
        "沟通 辅导员 今天 了解近况",
        "宣传 推文素材",
        "月计划 两次交流",
        "活动 观影 今天 书院影音室 参加：张三、李四、周松",
    ):
        phone.say(world.mentor, text)
    phone.new(world.mentor)
    phone.say(world.mentor, "我的")
    if cjk_font_installed():
        image, message = phone.new(world.mentor)  # the picture, then the text
        assert image["msgtype"] == "image"  # (the picture itself: test_progress_image)
    else:
        [message] = phone.new(world.mentor)
    assert message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert '本周个别交流：<font color="warning">1</font> / 2' in content
    assert '本学期线下集体活动：<font color="warning">1</font> / 2' in content
    assert '本学期与辅导员沟通：<font color="info">1</font> / 1' in content
    assert '本学期与学院负责人交流：<font color="warning">0</font> / 1' in content
    assert '本月计划：<font color="info">1</font> / 1' in content
    assert '本月宣传素材：<font color="info">1</font> / 1' in content  # the mentor's part
    assert "学生评价：暂无" in content
    phone.menu(world.mentor, progress.MENU_MINE)
    assert "本周个别交流" in phone.last_text(world.mentor)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [((5, 4, 2), "1 项活动，平均满意度 66.7%"), ((5, 4), "暂无")],
)
def test_ratings_are_shown_as_aggregates_of_three_or_more(phone, database, world, levels, expected):
    phone.say(world.mentor, "活动 观影 今天 书院影音室 参加：张三、李四、周松")
    phone.new(world.mentor)
    with database.session() as session:
        record = session.scalar(sa.select(Record))
        for student, level in zip(("zhangsan", "lisi", "zhousong"), levels, strict=False):
            session.add(
                Rating(
                    record_id=record.id,
                    student_id=world.ids[student],
                    level=level,
                    attended=True,
                    created_at=datetime.now(UTC),
                )
            )
    phone.say(world.mentor, "我的")
    assert expected in phone.last_text(world.mentor)


def test_while_redis_is_down_photos_wait_even_near_their_expiry(database, world, tmp_path):
    # the access token is in Redis: a photo that cannot be fetched for that is not WeCom's
    # refusal, and a photo three days old must not be given up for it
    old = datetime.now(UTC) - timedelta(days=3, hours=1)
    _pending(database, world, "late", "fresh", created_at=old)
    client = FakeMediaClient({"late": redis.ConnectionError("refused"), "fresh": None})
    with pytest.raises(RedisUnavailable):
        fetch_pending_evidence(database, client, LocalFileStore(tmp_path), datetime.now(UTC))
    assert [photo.status for photo in _evidence(database)] == [EvidenceStatus.PENDING] * 2
    assert client.calls == ["late"]  # the pass ended at the first


def test_the_media_worker_outlives_a_redis_outage(database, world, tmp_path):
    _pending(database, world, "late")
    stop = threading.Event()

    class OutageUntilStopped(FakeMediaClient):
        def download_media(self, media_id):
            if len(self.calls) == 2:
                stop.set()  # the third pass is the last
            return super().download_media(media_id)

    client = OutageUntilStopped({"late": redis.ConnectionError("refused")})
    with structlog.testing.capture_logs() as logs:
        run_fetcher(database, client, LocalFileStore(tmp_path), interval=0.01, stop=stop)
    assert len(client.calls) == 3  # it kept going until told to stop
    assert [entry["event"] for entry in logs].count("redis_unavailable") == 1


def test_the_anonymity_threshold_is_the_rubric_s(phone, database, world, monkeypatch):
    """我的 reads the threshold from the year's rubric: with 2, two ratings are shown."""
    from bot.records import progress as progress_rules
    from scoring.rubric import rubric_from_dict
    from tests.scoring.scoring_helpers import rubric_data

    data = rubric_data()
    data["satisfaction"]["anonymity_threshold"] = 2
    two = rubric_from_dict(data)
    monkeypatch.setattr(progress_rules, "rubric_for_year", lambda _session, _year_id: two)
    phone.say(world.mentor, "活动 观影 今天 书院影音室 参加：张三、李四、周松")
    phone.new(world.mentor)
    with database.session() as session:
        record = session.scalar(sa.select(Record))
        for student, level in (("zhangsan", 5), ("lisi", 4)):
            session.add(
                Rating(
                    record_id=record.id,
                    student_id=world.ids[student],
                    level=level,
                    attended=True,
                    created_at=datetime.now(UTC),
                )
            )
    phone.say(world.mentor, "我的")
    text = phone.last_text(world.mentor)
    assert "1 项活动，平均满意度 100.0%（仅统计评价满2人的活动，评价匿名）" in text
