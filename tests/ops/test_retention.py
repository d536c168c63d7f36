"""Retention of personal data after the cycle closes, and one person's export."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from openpyxl import load_workbook

from bot.models import (
    AcademicYear,
    AssessmentCycle,
    CycleStatus,
    EvidenceFile,
    EvidenceStatus,
    ItemScore,
    Rating,
    Record,
    RecordKind,
    RecordParticipant,
    Role,
    ScoreSource,
)
from bot.storage import FileStore
from tests.factories import add_person

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
            items=["B5"],
            occurred_at=moment,
            created_at=moment,
            updated_at=moment,
            sensitive_note=b"encrypted",
            note=None,
        )
        activity = Record(
            year_id=year.id,
            mentor_id=mentor.id,
            kind=RecordKind.GROUP_ACTIVITY,
            items=["M2"],
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
        assert care.sensitive_note is None
    assert not store.exists(photo.key)


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
