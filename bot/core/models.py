"""The data model: calendar, organisation, people, assignments, records, ratings,
assessment cycles and their stored results, audit log, outbox and processed callbacks.

Scores are stored in tenths (an integer) so arithmetic is exact on every back end.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.db import Base, UTCDateTime
from scoring.evidence import RecordKind  # the one RecordKind: scoring reads the same kinds


def _enum(kind: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        validate_strings=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


# --- calendar ---------------------------------------------------------------------------


class AcademicYear(Base):
    """1 September to 31 August, e.g. code ``2025-2026``."""

    __tablename__ = "academic_year"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(9), unique=True)
    starts_on: so.Mapped[date]
    ends_on: so.Mapped[date]

    semesters: so.Mapped[list[Semester]] = so.relationship(
        back_populates="year", order_by="Semester.number", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint("starts_on < ends_on", name="ordered"),)


class Semester(Base):
    __tablename__ = "semester"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    year_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("academic_year.id"))
    number: so.Mapped[int]
    starts_on: so.Mapped[date]
    ends_on: so.Mapped[date]

    year: so.Mapped[AcademicYear] = so.relationship(back_populates="semesters")
    teaching_weeks: so.Mapped[list[TeachingWeek]] = so.relationship(
        back_populates="semester", order_by="TeachingWeek.number", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("year_id", "number"),
        sa.CheckConstraint("number IN (1, 2)", name="number"),
        sa.CheckConstraint("starts_on < ends_on", name="ordered"),
    )


class TeachingWeek(Base):
    """A week of teaching (holidays and vacations are not teaching weeks)."""

    __tablename__ = "teaching_week"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    semester_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("semester.id"))
    number: so.Mapped[int]
    starts_on: so.Mapped[date]
    ends_on: so.Mapped[date]

    semester: so.Mapped[Semester] = so.relationship(back_populates="teaching_weeks")

    __table_args__ = (
        sa.UniqueConstraint("semester_id", "number"),
        sa.CheckConstraint("starts_on <= ends_on", name="ordered"),
    )


# --- organisation and people ------------------------------------------------------------


class UnitKind(enum.StrEnum):
    COLLEGE = "college"  # 二级学院
    ACADEMY = "academy"  # 书院部
    OTHER = "other"  # 其他单位（导师所在单位）


class Unit(Base):
    __tablename__ = "unit"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    kind: so.Mapped[UnitKind] = so.mapped_column(_enum(UnitKind, "unit_kind"))
    head_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("person.id", use_alter=True, ondelete="SET NULL")
    )

    head: so.Mapped[Person | None] = so.relationship(foreign_keys=[head_id])


class PersonKind(enum.StrEnum):
    STAFF = "staff"
    STUDENT = "student"


class Person(Base):
    """Anyone who talks to the bot. ``number`` is the staff or student number (the roster key)."""

    __tablename__ = "person"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    userid: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    number: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(50))
    kind: so.Mapped[PersonKind] = so.mapped_column(_enum(PersonKind, "person_kind"))
    unit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("unit.id"))
    major: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    grade: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    counsellor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id"))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # reads WeCom through WeChat (微信插件): sees no template cards, gets textcards instead
    wechat_plugin: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    unit: so.Mapped[Unit | None] = so.relationship(foreign_keys=[unit_id])
    counsellor: so.Mapped[Person | None] = so.relationship(remote_side=[id])
    roles: so.Mapped[list[RoleGrant]] = so.relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    def has_role(self, role: Role, unit_id: int | None = None) -> bool:
        return any(
            grant.role == role and (unit_id is None or grant.unit_id == unit_id)
            for grant in self.roles
        )


class Role(enum.StrEnum):
    STUDENT = "student"
    MENTOR = "mentor"  # 异科导师
    COUNSELLOR = "counsellor"  # 辅导员
    COLLEGE_ADMIN = "college_admin"  # 学院管理员
    ACADEMY_ADMIN = "academy_admin"  # 书院部管理员
    COLLEGE_HEAD = "college_head"  # 学院负责人（院长、副院长）
    UNIT_HEAD = "unit_head"  # 导师所在单位负责人
    SYSTEM_ADMIN = "system_admin"
    HR = "hr"  # 人力资源处: told of results and corrections, reads results and the record
    ACADEMIC_AFFAIRS = "academic_affairs"  # 教务处: told of results and corrections, reads them


ROLE_NAMES: dict[Role, str] = {
    Role.STUDENT: "学生",
    Role.MENTOR: "异科导师",
    Role.COUNSELLOR: "辅导员",
    Role.COLLEGE_ADMIN: "学院管理员",
    Role.ACADEMY_ADMIN: "书院部管理员",
    Role.COLLEGE_HEAD: "学院负责人",
    Role.UNIT_HEAD: "单位负责人",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.HR: "人力资源处",
    Role.ACADEMIC_AFFAIRS: "教务处",
}


class RoleGrant(Base):
    """A role held by a person, scoped to a unit where the role is (college admin of X…)."""

    __tablename__ = "role_grant"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    role: so.Mapped[Role] = so.mapped_column(_enum(Role, "role"))
    unit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("unit.id"))

    person: so.Mapped[Person] = so.relationship(back_populates="roles")
    unit: so.Mapped[Unit | None] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("person_id", "role", "unit_id"),)


class MentorAssignment(Base):
    """A mentor's assignment for one academic year: the college that assesses the mentor."""

    __tablename__ = "mentor_assignment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    year_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("academic_year.id"))
    mentor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    college_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("unit.id"))

    year: so.Mapped[AcademicYear] = so.relationship()
    mentor: so.Mapped[Person] = so.relationship()
    college: so.Mapped[Unit] = so.relationship()
    students: so.Mapped[list[MentorStudent]] = so.relationship(
        back_populates="assignment", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("year_id", "mentor_id"),)


class MentorStudent(Base):
    """A student led by a mentor in a year; a student has one mentor per year."""

    __tablename__ = "mentor_student"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("mentor_assignment.id", ondelete="CASCADE")
    )
    year_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("academic_year.id"))
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))

    assignment: so.Mapped[MentorAssignment] = so.relationship(back_populates="students")
    student: so.Mapped[Person] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("year_id", "student_id"),)


# --- records ---------------------------------------------------------------------------


RECORD_KIND_NAMES: dict[RecordKind, str] = {
    RecordKind.CONTACT: "个别交流",
    RecordKind.GROUP_ACTIVITY: "集体活动",
    RecordKind.COUNSELLOR_TALK: "与辅导员沟通",
    RecordKind.LEADER_TALK: "与学院负责人交流",
    RecordKind.SEMESTER_PLAN: "学期计划",
    RecordKind.MONTHLY_PLAN: "月度计划",
    RecordKind.MONTHLY_SUMMARY: "月度总结",
    RecordKind.PUBLICITY: "宣传素材",
    RecordKind.CARE: "关爱记录",
    RecordKind.ACADEMY_BOOKING: "书院空间预约/社区活动",
    RecordKind.EXTERNAL_RESOURCE: "校外资源引入",
    RecordKind.MONTHLY_GUIDANCE: "月度个别指导",
}


class Record(Base):
    """One entry of a mentor's daily record (台账)."""

    __tablename__ = "record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    year_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("academic_year.id"), index=True)
    mentor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"), index=True)
    kind: so.Mapped[RecordKind] = so.mapped_column(_enum(RecordKind, "record_kind"))
    activity_type: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    title: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    occurred_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    place: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    online: so.Mapped[bool | None]
    note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    sensitive_note: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    mentor: so.Mapped[Person] = so.relationship()
    participants: so.Mapped[list[RecordParticipant]] = so.relationship(
        back_populates="record", cascade="all, delete-orphan"
    )
    evidence: so.Mapped[list[EvidenceFile]] = so.relationship(back_populates="record")

    __table_args__ = (sa.Index("ix_record_mentor_kind_time", "mentor_id", "kind", "occurred_at"),)


class RecordParticipant(Base):
    __tablename__ = "record_participant"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"), index=True)

    record: so.Mapped[Record] = so.relationship(back_populates="participants")
    student: so.Mapped[Person] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("record_id", "student_id"),)


class EvidenceStatus(enum.StrEnum):
    PENDING = "pending"  # media id known, file not fetched yet
    STORED = "stored"
    FAILED = "failed"


class EvidenceFile(Base):
    """A photo or document that evidences a record (or a cycle submission)."""

    __tablename__ = "evidence_file"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    record_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("record.id", ondelete="SET NULL"), index=True
    )
    purpose: so.Mapped[str] = so.mapped_column(sa.String(32))  # photo, plan, annual_summary…
    media_id: so.Mapped[str | None] = so.mapped_column(sa.String(128))
    storage_key: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    filename: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    content_type: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    size: so.Mapped[int | None]
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    status: so.Mapped[EvidenceStatus] = so.mapped_column(_enum(EvidenceStatus, "evidence_status"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    record: so.Mapped[Record | None] = so.relationship(back_populates="evidence")


# --- ratings ---------------------------------------------------------------------------


class RatingRequestStatus(enum.StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    LAPSED = "lapsed"


class RatingRequest(Base):
    """A rating card sent (or to be sent) to one participating student.

    One card (one ``task_id``) goes to up to 1,000 participants of a record in one call, so
    ``task_id`` is shared by their requests. ``sent_at`` is NULL for a request that lapsed
    without a card (the student's weekly limit was reached).
    """

    __tablename__ = "rating_request"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"), index=True)
    task_id: so.Mapped[str] = so.mapped_column(sa.String(128), index=True)
    status: so.Mapped[RatingRequestStatus] = so.mapped_column(
        _enum(RatingRequestStatus, "rating_request_status")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    reminded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("record_id", "student_id"),)


class Rating(Base):
    """One student's answer about one record: a level 1–5, or 'did not attend'."""

    __tablename__ = "rating"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("record.id", ondelete="CASCADE"))
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    level: so.Mapped[int | None]
    attended: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("record_id", "student_id"),
        sa.CheckConstraint(
            "(attended AND level IS NOT NULL AND level BETWEEN 1 AND 5)"
            " OR (NOT attended AND level IS NULL)",
            name="level",
        ),
    )


# --- assessment cycle ------------------------------------------------------------------


class CycleStatus(enum.StrEnum):
    OPEN = "open"
    PUBLISHED = "published"  # 公示 and objection period
    CLOSED = "closed"


class AssessmentCycle(Base):
    __tablename__ = "assessment_cycle"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    year_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("academic_year.id"), unique=True)
    status: so.Mapped[CycleStatus] = so.mapped_column(_enum(CycleStatus, "cycle_status"))
    rubric: so.Mapped[str] = so.mapped_column(sa.String(64))
    deadlines: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    opened_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    objections_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    year: so.Mapped[AcademicYear] = so.relationship()


class ScoreSource(enum.StrEnum):
    SELF = "self"  # 自评
    COLLEGE = "college"
    ACADEMY = "academy"


class ItemScore(Base):
    """A score for one rubric item of one mentor in one cycle, by one source."""

    __tablename__ = "item_score"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    cycle_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("assessment_cycle.id"))
    mentor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    item: so.Mapped[str] = so.mapped_column(sa.String(8))
    source: so.Mapped[ScoreSource] = so.mapped_column(_enum(ScoreSource, "score_source"))
    tenths: so.Mapped[int]
    given_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    given_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    # a bonus item (achieved: the item's maximum, else 0): the competition or paper named
    note: so.Mapped[str | None] = so.mapped_column(sa.String(200))

    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "mentor_id", "item", "source"),
        sa.CheckConstraint("tenths >= 0", name="non_negative"),
    )

    @property
    def score(self) -> Decimal:
        return Decimal(self.tenths) / 10


class Submission(Base):
    """A step of the cycle done: a mentor's summary, a college's or the academy's scores."""

    __tablename__ = "submission"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    cycle_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("assessment_cycle.id"))
    step: so.Mapped[str] = so.mapped_column(sa.String(32))
    subject_id: so.Mapped[int] = so.mapped_column()  # person id or unit id, by step
    submitted_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    submitted_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("cycle_id", "step", "subject_id"),)


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Objection(Base):
    """意见反馈: a mentor's objection to a published result."""

    __tablename__ = "objection"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    cycle_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("assessment_cycle.id"))
    mentor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[ObjectionStatus] = so.mapped_column(
        _enum(ObjectionStatus, "objection_status")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    answer: so.Mapped[str | None] = so.mapped_column(sa.Text)
    answered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id"))
    answered_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class Correction(Base):
    """A change to a score after publication; never without a reason."""

    __tablename__ = "correction"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    item_score_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("item_score.id"))
    objection_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("objection.id"))
    old_tenths: so.Mapped[int | None]  # None: a score added late (a late college)
    new_tenths: so.Mapped[int]
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    corrected_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id"))
    corrected_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("length(reason) > 0", name="reason"),)


class ResultsReason(enum.StrEnum):
    PUBLISH = "publish"  # 公示
    CORRECT = "correct"  # 异议期内的更正
    CLOSE = "close"  # 考核结束：最终结果
    BACKFILL = "backfill"  # stored afterwards for a cycle published before results were stored


class ResultSnapshot(Base):
    """A cycle's results as computed and stored at publication, at each correction and at
    closing. From publication on, everything that shows or exports results reads the newest
    snapshot of the cycle (highest id); the older ones stay as its history. Once the cycle is
    closed nothing is recomputed: purged ratings, late taps or a changed roster change nothing.

    ``mentors``: one entry per mentor in the order of the results (college code, staff number):
    ``person_id``, ``college_id``, ``college`` (name as ranked), ``status``, the parts
    ``college_points``, ``academy_points``, ``satisfaction`` (percent or null),
    ``satisfaction_points``, ``bonus_points``, ``total`` (null when incomplete), ``rank``,
    ``outstanding``, ``flags``, ``missing`` and ``items`` (item id → score of the source that
    counts: the college's for B, M, E, the office's for A). ``colleges``: per college the
    ``college`` name, ``ranked``, ``quota``, ``outstanding`` (mentor ids) and ``flags``. Every
    number that is not a count is a decimal string, never a float.
    """

    __tablename__ = "result_snapshot"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    cycle_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("assessment_cycle.id"), index=True)
    reason: so.Mapped[ResultsReason] = so.mapped_column(_enum(ResultsReason, "results_reason"))
    stored_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id"))
    correction_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("correction.id"))
    rubric: so.Mapped[str] = so.mapped_column(sa.String(64))
    mentors: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)
    colleges: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)

    cycle: so.Mapped[AssessmentCycle] = so.relationship()


class OverdueEscalation(Base):
    """An overdue step of a cycle escalated to the head of one unit (the college that assesses
    the late mentors or scores late, or the academy for the office's step). Written in the
    transaction that queues the message; the unique key makes it once per cycle, step and
    unit for good, whatever the outbox pruning deletes. A step's deadline is fixed when the
    cycle opens. Ids only: no names, no recipients."""

    __tablename__ = "overdue_escalation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    cycle_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assessment_cycle.id", ondelete="CASCADE")
    )
    step: so.Mapped[str] = so.mapped_column(sa.String(32))
    unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("unit.id"))
    escalated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("cycle_id", "step", "unit_id"),)


# --- audit, outbox, callbacks -------------------------------------------------------------


class AuditEntry(Base):
    """Who changed what, when, from what to what. Append-only."""

    __tablename__ = "audit_entry"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(32))
    entity: so.Mapped[str] = so.mapped_column(sa.String(32))
    entity_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    before: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    after: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_entry_entity", "entity", "entity_id"),)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent for this person (invaliduser)
    DEAD = "dead"  # kept failing; administrators alerted


class OutboxMessage(Base):
    """One message to one person, written in the transaction that causes it.

    Rows with the same ``payload_hash`` are sent together (up to 1,000 recipients a call).
    ``key`` is unique per campaign, person and period, so a job that runs twice adds nothing.
    """

    __tablename__ = "outbox_message"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    userid: so.Mapped[str] = so.mapped_column(sa.String(64))
    msgtype: so.Mapped[str] = so.mapped_column(sa.String(32))
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    payload_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    urgent: so.Mapped[bool] = so.mapped_column(default=False)
    status: so.Mapped[OutboxStatus] = so.mapped_column(_enum(OutboxStatus, "outbox_status"))
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    available_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # a card's task_id as last offered to WeCom, written before the call: a later 42014
    # ("task_id used") means this row was delivered only when it carried the same task_id
    task_id: so.Mapped[str | None] = so.mapped_column(sa.String(128))
    # what message/send answered for an interactive card: update_template_card takes it once,
    # within 72 hours, to update the card of the recipients named (bot.outbox.card_closing)
    response_code: so.Mapped[str | None] = so.mapped_column(sa.String(255))

    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "available_at"),)


class ProcessedCallback(Base):
    """A callback acted on; the unique key stands behind the Redis de-duplication."""

    __tablename__ = "processed_callback"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    dedupe_key: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
