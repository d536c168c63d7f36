"""Retention of personal data after the cycle closes, pruning of finished outbox messages and
processed callbacks, and one person's export."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    CycleStatus,
    EvidenceFile,
    EvidenceStatus,
    ItemScore,
    OutboxMessage,
    OutboxStatus,
    Person,
    ProcessedCallback,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
    ResultSnapshot,
    ResultsReason,
    Role,
    ScoreSource,
)
from bot.core.storage import FileStore
from bot.ops.retention.export import CARE_NOTE_WITHHELD, message_preview
from bot.ops.retention.prune import prune_messages
from bot.outbox.lease import LEASE
from bot.records.care import encrypt_note
from scheduler.runner import run_entry
from scheduler.schedule import load_schedule
from tests.factories import add_person

KEEP_DAYS = 60  # not the default (90): the tests show the setting is what counts


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "OUTBOX_KEEP_DAYS": KEEP_DAYS}


CLOSED = datetime(2022, 9, 20, tzinfo=UTC)


def _world(app, database, closed_at=CLOSED):
    store = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    photo = store.put(b"\xff\xd8\xff" + b"j" * 100, ".jpg", closed_at)
    with database.session() as session:
        mentor = add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        student = add_person(session, "zhangsan", "=HYPERLINK(1)", Role.STUDENT)
        year = AcademicYear(code="2021-2022", starts_on=date(2021, 9, 1), ends_on=date(2022, 8, 31))
        session.add(year)
        session.flush()
        cycle = AssessmentCycle(
            year_id=year.id,
            status=CycleStatus.CLOSED,
            rubric="2021",
            opened_at=closed_at,
            closed_at=closed_at,
        )
        moment = datetime(2021, 11, 1, tzinfo=UTC)
        care = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.CARE,
            occurred_at=moment,
            created_at=moment,
            updated_at=moment,
            place="心理咨询室",
            sensitive_note=b"encrypted",
            note=None,
        )
        activity = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            title="读书沙龙",
            occurred_at=moment,
            created_at=moment,
            updated_at=moment,
        )
        session.add_all([cycle, care, activity])
        session.flush()
        care.participants = [RecordParticipant(student_id=student.id)]
        activity.participants = [RecordParticipant(student_id=student.id)]
        session.add(
            Rating(record_id=activity.id, student_id=student.id, level=5, created_at=moment)
        )
        session.add(
            EvidenceFile(
                owner_id=mentor.id,
                record_id=activity.id,
                purpose="photo",
                storage_key=photo.key,
                status=EvidenceStatus.STORED,
                created_at=moment,
            )
        )
        session.add(
            ItemScore(
                cycle_id=cycle.id,
                mentor_id=mentor.id,
                item="M2",
                tenths=65,
                source=ScoreSource.COLLEGE,
                given_by_id=mentor.id,
                given_at=moment,
            )
        )
    return store, photo


def _counts(database):
    with database.session() as session:
        return {
            model.__name__: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Rating, EvidenceFile, RecordParticipant, Record, ItemScore)
        }


def test_dry_run_counts_and_changes_nothing(app, database, runner):
    _world(app, database)
    before = _counts(database)
    result = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "（演练，未删除）超过保留期限的学年：2021-2022" in result.output
    assert "学生个人评价：1 条" in result.output
    assert _counts(database) == before


def test_purge_after_three_years_keeps_records_and_scores(app, database, runner):
    store, photo = _world(app, database)
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    counts = _counts(database)
    assert counts["Rating"] == 0
    assert counts["EvidenceFile"] == 0
    assert counts["RecordParticipant"] == 1  # the activity keeps its participant; care does not
    assert counts["Record"] == 2
    assert counts["ItemScore"] == 1
    with database.session() as session:
        care = session.scalars(sa.select(Record).where(Record.kind == RecordKind.CARE)).one()
        assert (care.sensitive_note, care.note, care.place) == (None, None, None)
        assert care.participants == []
    assert not store.exists(photo.key)


def test_a_care_record_left_with_only_its_place_loses_it(app, database, runner):
    """A care record without a note, or one purged before places were cleared: the place is
    cleared on the next run, and a run after that finds nothing left."""
    _world(app, database)
    with database.session() as session:
        care = session.scalars(sa.select(Record).where(Record.kind == RecordKind.CARE)).one()
        care.sensitive_note = None
    first = runner.invoke(args=["retention", "purge"])
    assert "关爱记录（删除内容并解除与学生的关联）：1 条" in first.output
    with database.session() as session:
        care = session.scalars(sa.select(Record).where(Record.kind == RecordKind.CARE)).one()
        assert care.place is None
    again = runner.invoke(args=["retention", "purge"])
    assert "关爱记录（删除内容并解除与学生的关联）：0 条" in again.output


def test_a_care_record_without_note_or_place_is_detached_from_the_student(app, database, runner):
    _world(app, database)
    with database.session() as session:
        care = session.scalars(sa.select(Record).where(Record.kind == RecordKind.CARE)).one()
        care.sensitive_note, care.place = None, None
    first = runner.invoke(args=["retention", "purge"])
    assert "关爱记录（删除内容并解除与学生的关联）：1 条" in first.output
    assert _counts(database)["RecordParticipant"] == 1  # the activity's
    again = runner.invoke(args=["retention", "purge"])
    assert "关爱记录（删除内容并解除与学生的关联）：0 条" in again.output


def test_recent_cycles_are_kept(app, database, runner):
    _world(app, database, closed_at=datetime.now(UTC))
    result = runner.invoke(args=["retention", "purge"])
    assert "没有超过保留期限的学年" in result.output
    assert _counts(database)["Rating"] == 1


def test_person_export(app, database, runner, tmp_path):
    _world(app, database)
    target = tmp_path / "zhangsan.xlsx"
    result = runner.invoke(args=["person", "export", "zhangsan", str(target)])
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book["人员"]["C2"].value == "'=HYPERLINK(1)"  # formula-like text stays text
    assert book["本人的评价"].max_row == 2
    assert book["参与的记录"].max_row == 3
    unknown = runner.invoke(args=["person", "export", "nobody", str(tmp_path / "x.xlsx")])
    assert unknown.exit_code != 0
    assert "没有企业微信账号为“nobody”的人员" in unknown.output


# -- finished outbox messages and processed callbacks ----------------------------------------

OLD = timedelta(days=KEEP_DAYS + 10)
RECENT = timedelta(days=KEEP_DAYS - 10)


def _message(session, key, status, age, now, *, last_attempt_age=None, userid="wanglaoshi"):
    created = now - age
    attempted = now - (last_attempt_age if last_attempt_age is not None else age)
    session.add(
        OutboxMessage(
            key=key,
            userid=userid,
            msgtype="text",
            payload={"msgtype": "text", "text": {"content": f"感谢评价 {key}"}},
            payload_hash=key,
            status=status,
            attempts=1,
            created_at=created,
            available_at=attempted + LEASE,
            sent_at=attempted if status == OutboxStatus.SENT else None,
        )
    )


def _messages_world(database, now):
    with database.session() as session:
        _message(session, "old-sent", OutboxStatus.SENT, OLD, now)
        _message(session, "old-failed", OutboxStatus.FAILED, OLD, now)
        _message(session, "old-dead", OutboxStatus.DEAD, OLD, now)
        _message(session, "recent-sent", OutboxStatus.SENT, RECENT, now)
        _message(session, "recent-dead", OutboxStatus.DEAD, RECENT, now)
        # queued long ago, retried with retry-dead, died again recently: kept from its death on
        _message(
            session, "died-again", OutboxStatus.DEAD, OLD, now, last_attempt_age=timedelta(days=1)
        )
        _message(session, "old-pending", OutboxStatus.PENDING, OLD, now)
        _message(session, "old-sending", OutboxStatus.SENDING, OLD, now)
        session.add_all(
            [
                ProcessedCallback(dedupe_key="msg:old", received_at=now - timedelta(days=8)),
                ProcessedCallback(dedupe_key="msg:recent", received_at=now - timedelta(days=6)),
            ]
        )


def _keys(database):
    with database.session() as session:
        outbox = set(session.scalars(sa.select(OutboxMessage.key)))
        callbacks = set(session.scalars(sa.select(ProcessedCallback.dedupe_key)))
    return outbox, callbacks


KEPT = {"recent-sent", "recent-dead", "died-again", "old-pending", "old-sending"}


def test_purge_prunes_finished_messages_and_old_callbacks(database, runner, client):
    _messages_world(database, datetime.now(UTC))
    pending_before = 'mentorbot_outbox_messages{status="pending"} 1.0'
    assert pending_before in client.get("/metrics").text
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert f"最后一次发送超过 {KEEP_DAYS} 天）：3 条" in result.output
    assert "回调去重记录（超过 7 天）：1 条" in result.output
    assert _keys(database) == (KEPT, {"msg:recent"})
    scraped = client.get("/metrics").text  # the depth gauges count what is left
    assert pending_before in scraped
    assert 'mentorbot_outbox_messages{status="sending"} 1.0' in scraped
    assert 'mentorbot_outbox_messages{status="dead"} 2.0' in scraped
    again = runner.invoke(args=["retention", "purge"])
    assert "：0 条" in again.output and _keys(database) == (KEPT, {"msg:recent"})


def test_purge_dry_run_counts_messages_and_changes_nothing(database, runner):
    _messages_world(database, datetime.now(UTC))
    before = _keys(database)
    result = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    dry = "（演练，未删除）已结束的消息（已发送、发送失败、死信，最后一次发送超过"
    assert f"{dry} {KEEP_DAYS} 天）：3 条" in result.output
    assert "（演练，未删除）回调去重记录（超过 7 天）：1 条" in result.output
    assert _keys(database) == before


def test_dead_letters_stay_listed_and_retryable_until_the_period_ends(database, runner):
    _messages_world(database, datetime.now(UTC))
    runner.invoke(args=["retention", "purge"])
    listed = runner.invoke(args=["outbox", "dead"])
    assert "死信共 2 条" in listed.output
    assert "recent-dead" in listed.output and "died-again" in listed.output
    assert "old-dead" not in listed.output
    assert "已重新排队 2 条死信" in runner.invoke(args=["outbox", "retry-dead"]).output


def test_an_old_dead_letter_queued_again_is_kept(database, runner):
    now = datetime.now(UTC)
    with database.session() as session:
        _message(session, "old-dead", OutboxStatus.DEAD, OLD, now)
    assert "已重新排队 1 条死信" in runner.invoke(args=["outbox", "retry-dead"]).output
    runner.invoke(args=["retention", "purge"])
    with database.session() as session:
        assert session.scalars(sa.select(OutboxMessage.status)).all() == [OutboxStatus.PENDING]


def test_prune_works_in_batches_and_never_touches_unfinished_rows(database):
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with database.session() as session:
        for number in range(23):
            status = [OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.SENDING][number % 3]
            _message(session, f"m{number}", status, OLD, now)
        session.add_all(
            ProcessedCallback(dedupe_key=f"cb{number}", received_at=now - timedelta(days=30))
            for number in range(11)
        )
    counted = prune_messages(database, now, outbox_keep_days=KEEP_DAYS, dry_run=True)
    report = prune_messages(database, now, outbox_keep_days=KEEP_DAYS, batch=2)
    assert (counted.outbox, counted.callbacks) == (report.outbox, report.callbacks) == (8, 11)
    with database.session() as session:
        statuses = session.scalars(sa.select(OutboxMessage.status)).all()
    assert sorted(statuses) == sorted([OutboxStatus.PENDING] * 8 + [OutboxStatus.SENDING] * 7)
    assert _keys(database)[1] == set()


def test_nightly_job_prunes_and_is_idempotent(app, database):
    entry = load_schedule().entries["outbox_prune"]
    now = datetime.now(UTC)
    _messages_world(database, now)
    before = _keys(database)
    with app.app_context():  # OUTBOX_KEEP_DAYS of the app, as in the scheduler process
        schedule = load_schedule()
        dry = run_entry(entry, database, now, schedule.rules, dry_run=True)
        assert (dry.added, dry.planned, _keys(database)) == (0, [], before)
        assert run_entry(entry, database, now, schedule.rules).added == 0
        assert _keys(database) == (KEPT, {"msg:recent"})
        assert run_entry(entry, database, now, schedule.rules).added == 0
    assert _keys(database) == (KEPT, {"msg:recent"})


# -- one person's export --------------------------------------------------------------------


def _export_world(app, database, now):
    key = app.extensions["settings"].CARE_NOTES_KEY
    moment = datetime(2025, 10, 9, 8, tzinfo=UTC)
    with database.session() as session:
        mentor = add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        other = add_person(session, "lilaoshi", "李老师", Role.MENTOR)
        student = add_person(session, "zhangsan", "张三", Role.STUDENT)
        year = AcademicYear(code="2025-2026", starts_on=date(2025, 9, 1), ends_on=date(2026, 8, 31))
        session.add(year)
        session.flush()

        def record(author, kind, title, note=None, sensitive=None):
            return Record(
                year_id=year.id,
                mentor_id=author.id,
                kind=kind,
                title=title,
                occurred_at=moment,
                created_at=moment,
                updated_at=moment,
                note=note,
                sensitive_note=encrypt_note(key, sensitive) if sensitive else None,
            )

        contact = record(mentor, RecordKind.CONTACT, "与张三交流", note="=聊选课+转专业")
        care = record(mentor, RecordKind.CARE, "关爱", sensitive="家庭困难，情绪低落")
        theirs = record(other, RecordKind.CONTACT, "李老师的交流", note="李老师的备注")
        session.add_all([contact, care, theirs])
        session.flush()
        contact.participants = [RecordParticipant(student_id=student.id)]

        def evidence(owner, record_id, filename, storage_key, size):
            return EvidenceFile(
                owner_id=owner.id,
                record_id=record_id,
                purpose="photo",
                storage_key=storage_key,
                filename=filename,
                content_type="image/jpeg",
                size=size,
                status=EvidenceStatus.STORED,
                created_at=moment,
            )

        session.add_all(
            [
                evidence(mentor, contact.id, "合影.jpg", "2025/10/aa.jpg", 2048),
                evidence(mentor, None, "-年度总结.pdf", "2025/10/bb.pdf", 4096),
                evidence(student, contact.id, "学生拍的.jpg", "2025/10/cc.jpg", 100),
                evidence(other, theirs.id, "李老师的.jpg", "2025/10/dd.jpg", 300),
            ]
        )
        _message(session, "thanks", OutboxStatus.SENT, timedelta(days=3), now)
        session.add(
            OutboxMessage(
                key="card",
                userid="wanglaoshi",
                msgtype="template_card",
                payload={
                    "msgtype": "template_card",
                    "template_card": {"main_title": {"title": "本周个别交流提醒"}},
                },
                payload_hash="card",
                status=OutboxStatus.PENDING,
                created_at=now,
                available_at=now,
            )
        )
        _message(session, "to-li", OutboxStatus.SENT, timedelta(days=3), now, userid="lilaoshi")
    return contact, care


def _cells(sheet):
    return [[cell for cell in row] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_person_export_has_notes_files_and_messages_of_that_person_only(
    app, database, runner, tmp_path
):
    now = datetime.now(UTC)
    contact, care = _export_world(app, database, now)
    target = tmp_path / "wanglaoshi.xlsx"
    result = runner.invoke(args=["person", "export", "wanglaoshi", str(target)])
    assert result.exit_code == 0, result.output
    book = load_workbook(target)

    records = {row[0]: row for row in _cells(book["作为导师的记录"])}
    assert set(records) == {contact.id, care.id}
    assert records[contact.id][6] == "'=聊选课+转专业"  # the note, kept text
    assert records[care.id][6] == CARE_NOTE_WITHHELD

    files = _cells(book["上传和佐证文件"])
    assert [(row[1], row[2], row[3], row[7], row[9]) for row in files] == [
        ("合影.jpg", "photo", 2048, "2025/10/aa.jpg", "本人上传"),
        ("'-年度总结.pdf", "photo", 4096, "2025/10/bb.pdf", "本人上传"),
        ("学生拍的.jpg", "photo", 100, "2025/10/cc.jpg", "本人记录的佐证（他人上传）"),
    ]
    assert files[0][6].startswith("2025-10-09T08:00")

    messages = _cells(book["收到的消息"])
    assert [(row[2], row[3], row[4]) for row in messages] == [
        ("text", "已发送", "感谢评价 thanks"),
        ("template_card", "待发送", "[卡片] 本周个别交流提醒"),
    ]
    assert messages[0][1] and not messages[1][1]  # sent at / not yet

    everything = " ".join(
        str(value) for sheet in book for row in _cells(sheet) for value in row if value is not None
    )
    for foreign in ("李老师", "lilaoshi", "dd.jpg", "to-li", "家庭困难"):
        assert foreign not in everything, foreign
    with database.session() as session:
        audit = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert audit.entity == "person" and audit.after["rows"] > 0


def test_person_export_has_that_mentors_stored_results_only(app, database, runner, tmp_path):
    now = datetime.now(UTC)
    _export_world(app, database, now)
    with database.session() as session:
        people = dict(session.execute(sa.select(Person.userid, Person.id)).all())
        year = session.scalars(sa.select(AcademicYear)).one()
        cycle = AssessmentCycle(
            year_id=year.id, status=CycleStatus.CLOSED, rubric="2021", opened_at=now
        )
        session.add(cycle)
        session.flush()

        def line(userid, total, rank, outstanding):
            return {
                "person_id": people[userid],
                "college": "计算机学院",
                "status": "complete",
                "college_points": "60.5",
                "academy_points": "15",
                "satisfaction": "91.2",
                "satisfaction_points": "20",
                "bonus_points": "0",
                "total": total,
                "rank": rank,
                "outstanding": outstanding,
            }

        for reason, total in ((ResultsReason.PUBLISH, "95.5"), (ResultsReason.CLOSE, "96.5")):
            session.add(
                ResultSnapshot(
                    cycle_id=cycle.id,
                    reason=reason,
                    stored_at=now,
                    rubric="2021",
                    mentors=[
                        line("lilaoshi", "99.0", 1, True),
                        line("wanglaoshi", total, 2, False),
                    ],
                    colleges=[],
                )
            )
    target = tmp_path / "wanglaoshi.xlsx"
    result = runner.invoke(args=["person", "export", "wanglaoshi", str(target)])
    assert result.exit_code == 0, result.output
    results = _cells(load_workbook(target)["考核结果"])
    assert [(row[0], row[1], row[3], row[4], row[10], row[11], row[12]) for row in results] == [
        ("2025-2026", "公示", "计算机学院", "完整", "95.5", 2, "否"),
        ("2025-2026", "最终结果", "计算机学院", "完整", "96.5", 2, "否"),
    ]
    assert "99.0" not in {value for row in results for value in row}


def test_message_preview_is_short_and_names_files():
    long = {"msgtype": "text", "text": {"content": "第一行\n" + "很长" * 50}}
    assert message_preview(long).startswith("第一行 很长")
    assert len(message_preview(long)) == 60 and message_preview(long).endswith("…")
    image = {"msgtype": "image", "image": {"storage_key": "k", "filename": "进度.png"}}
    assert message_preview(image) == "[图片] 进度.png"
    assert message_preview({"msgtype": "update_template_card"}) == "[更新卡片]"
    assert message_preview({"msgtype": "news", "news": {}}) == "[news]"
