"""The steps of one assessment cycle, each done by a person: open, score (workbooks), submit,
publish (公示), object and correct, close. Every change is audited; every push goes through
the outbox in the same transaction. ``now`` is passed in; nothing here reads a clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot import outbox
from bot.cycle import access, charts, export, messages, workbook
from bot.cycle.evidence import figures
from bot.cycle.results import (
    Results,
    academy_item_ids,
    college_item_ids,
    compute,
    current,
    dump,
    fingerprint,
    latest_snapshot,
    members,
    rubric_of,
    saved_scores,
    source_of,
    summary_line,
)
from bot.echo import echo
from bot.models import (
    AcademicYear,
    AssessmentCycle,
    AuditEntry,
    Correction,
    CycleStatus,
    EvidenceFile,
    EvidenceStatus,
    ItemScore,
    Objection,
    ObjectionStatus,
    Person,
    ResultSnapshot,
    ResultsReason,
    Role,
    RoleGrant,
    ScoreSource,
    Submission,
    Unit,
)
from bot.outbox import Message
from bot.storage import FileStore
from scheduler.calendar import is_working_day
from scoring.numbers import fmt
from scoring.rubric import DEFAULT_RUBRIC

STEPS = ("self", "college", "academy")
DEFAULT_DAYS = {"self": 7, "college": 14, "academy": 14}
OBJECTION_WORKING_DAYS = 5
ACADEMY_SUBJECT = 0  # Submission.subject_id of the academy office's step

log = structlog.get_logger("bot.cycle")


class CycleError(Exception):
    """A step that cannot be done now; the message is for the person, in Chinese."""


@dataclass(frozen=True)
class Env:
    """What services need from the app: the public base URL, the time zone and the file
    store (images and files sent through the outbox; without it only the texts go out)."""

    base_url: str
    zone: ZoneInfo
    files: FileStore | None = None


def audit(
    session: so.Session,
    *,
    actor: Person | None,
    action: str,
    entity: str,
    entity_id: object,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )


# --- finding the cycle ---------------------------------------------------------------------


def find_cycle(session: so.Session, year_code: str | None = None) -> AssessmentCycle | None:
    """The cycle of ``year_code``, else the most recently opened one."""
    query = sa.select(AssessmentCycle).join(AcademicYear)
    if year_code:
        query = query.where(AcademicYear.code == year_code)
    return session.scalar(query.order_by(AssessmentCycle.opened_at.desc()).limit(1))


def require_cycle(session: so.Session, year_code: str | None = None) -> AssessmentCycle:
    cycle = find_cycle(session, year_code)
    if cycle is None:
        raise CycleError("还没有开启的考核。书院部管理员可发送“开启考核 2025-2026”开启。")
    return cycle


def holders(session: so.Session, role: Role, unit_id: int | None = None) -> list[Person]:
    query = (
        sa.select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role == role, Person.active.is_(True))
        .order_by(Person.id)
    )
    if unit_id is not None:
        query = query.where(RoleGrant.unit_id == unit_id)
    return list(session.scalars(query).unique())


def colleges(session: so.Session, cycle: AssessmentCycle) -> list[Unit]:
    """Colleges assessing at least one mentor in the cycle's year."""
    seen: dict[int, Unit] = {}
    for member in members(session, cycle):
        seen.setdefault(member.college.id, member.college)
    return list(seen.values())


# --- opening ---------------------------------------------------------------------------------


def parse_deadlines(text: Mapping[str, str], today: date) -> dict[str, str]:
    """Deadlines by step from ISO dates; missing steps get the default distance from today."""
    result = {}
    for step in STEPS:
        raw = text.get(step)
        day = date.fromisoformat(raw) if raw else today + timedelta(days=DEFAULT_DAYS[step])
        if day < today:
            raise CycleError(f"{messages.STEP_NAMES[step]}的截止日期 {day} 已经过去。")
        result[step] = day.isoformat()
    return result


def open_cycle(
    session: so.Session,
    *,
    year_code: str,
    actor: Person | None,
    now: datetime,
    env: Env,
    deadlines: Mapping[str, str] | None = None,
    rubric: str = DEFAULT_RUBRIC,
) -> AssessmentCycle:
    """Open the year's cycle and tell mentors, college admins and the office."""
    year = session.scalar(sa.select(AcademicYear).where(AcademicYear.code == year_code))
    if year is None:
        raise CycleError(f"没有 {year_code} 学年的校历，请先导入名单与校历。")
    if session.scalar(sa.select(AssessmentCycle).where(AssessmentCycle.year_id == year.id)):
        raise CycleError(f"{year_code} 学年的考核已经开启过了。发送“进度”查看。")
    days = parse_deadlines(deadlines or {}, now.astimezone(env.zone).date())
    cycle = AssessmentCycle(
        year_id=year.id, status=CycleStatus.OPEN, rubric=rubric, deadlines=days, opened_at=now
    )
    session.add(cycle)
    session.flush()
    audit(
        session, actor=actor, action="open", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after={"year": year_code, "deadlines": days},
    )  # fmt: skip
    people = members(session, cycle)
    mentor_ids = [m.person.userid for m in people]
    outbox.enqueue(
        session,
        mentor_ids,
        messages.opening_for_mentor(year_code, days, env.base_url, cycle.id),
        key=f"cycle:{cycle.id}:open:mentor",
        now=now,
    )
    for college in colleges(session, cycle):
        scope = messages.college_scope(college.id)
        admins = [p.userid for p in holders(session, Role.COLLEGE_ADMIN, college.id)]
        card = messages.scoring_card(
            f"{year_code} 学年导师考核：{college.name}评分",
            f"请为本学院 {sum(m.college.id == college.id for m in people)} 位导师评 B、M、E 项",
            days["college"],
            messages.hub_url(env.base_url, cycle.id, scope),
            messages.SUBMIT.pack(cycle.id, scope),
            f"cycle-{cycle.id}-{scope}",
        )
        outbox.enqueue(session, admins, card, key=f"cycle:{cycle.id}:open:{scope}", now=now)
    office = [p.userid for p in holders(session, Role.ACADEMY_ADMIN)]
    card = messages.scoring_card(
        f"{year_code} 学年导师考核：书院部评分",
        f"请为全部 {len(people)} 位导师评 A 项（联动融合）",
        days["academy"],
        messages.hub_url(env.base_url, cycle.id, messages.ACADEMY_SCOPE),
        messages.SUBMIT.pack(cycle.id, messages.ACADEMY_SCOPE),
        f"cycle-{cycle.id}-academy",
    )
    outbox.enqueue(session, office, card, key=f"cycle:{cycle.id}:open:academy", now=now)
    return cycle


# --- scopes and workbooks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one workbook covers: a college's B/M/E items, or the office's A items."""

    name: str  # "college-12" or "academy"
    college_id: int | None

    @property
    def step(self) -> str:
        return "academy" if self.college_id is None else "college"

    @property
    def subject_id(self) -> int:
        return ACADEMY_SUBJECT if self.college_id is None else self.college_id

    @property
    def source(self) -> ScoreSource:
        return ScoreSource.ACADEMY if self.college_id is None else ScoreSource.COLLEGE


def parse_scope(name: str) -> Scope | None:
    if name == messages.ACADEMY_SCOPE:
        return Scope(name, None)
    prefix, _, number = name.partition("-")
    if prefix == "college" and number.isdigit():
        return Scope(name, int(number))
    return None


def may_score(person: Person, scope: Scope) -> bool:
    if scope.college_id is None:
        return access.is_office(person)
    return access.may_score_college(person, scope.college_id)


def may_view_scope(session: so.Session, person: Person, scope: Scope) -> bool:
    if scope.college_id is None:
        return access.is_office(person)
    return access.may_see_college(session, person, scope.college_id)


def scope_items(cycle: AssessmentCycle, scope: Scope) -> list[workbook.ItemColumn]:
    rubric = rubric_of(cycle)
    ids = academy_item_ids(rubric) if scope.college_id is None else college_item_ids(rubric)
    return [
        workbook.ItemColumn(i, rubric.item_by_id[i].title, rubric.item_by_id[i].max) for i in ids
    ]


def scope_title(session: so.Session, scope: Scope) -> str:
    if scope.college_id is None:
        return "书院部"
    unit = session.get(Unit, scope.college_id)
    return unit.name if unit else "学院"


def summaries(session: so.Session, person_ids: list[int]) -> dict[int, int]:
    """The newest stored annual summary (evidence id) per mentor."""
    rows = session.execute(
        sa.select(EvidenceFile.owner_id, sa.func.max(EvidenceFile.id))
        .where(
            EvidenceFile.purpose == "annual_summary",
            EvidenceFile.status == EvidenceStatus.STORED,
            EvidenceFile.owner_id.in_(person_ids),
        )
        .group_by(EvidenceFile.owner_id)
    )
    return {owner: evidence for owner, evidence in rows}


def build_workbook(
    session: so.Session, cycle: AssessmentCycle, scope: Scope, env: Env
) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of the scope's workbook with everything known so far."""
    items = scope_items(cycle, scope)
    people = members(session, cycle, scope.college_id)
    ids = [m.person.id for m in people]
    rubric = rubric_of(cycle)
    evidence = figures(session, cycle.year, rubric, env.zone, ids, scope.college_id)
    scores = saved_scores(session, cycle)
    summary = summaries(session, ids)
    rows = []
    for member in people:
        pid = member.person.id
        mentor_evidence = evidence.get(pid)
        figure_text, suggested = {}, {}
        for item in items:
            if mentor_evidence is None or item.id not in rubric.evidence:
                continue
            found = mentor_evidence.item(item.id)
            figure_text[item.id] = "；".join(r.summary for r in found.requirements)
            if found.suggested is not None:
                suggested[item.id] = found.suggested
        rows.append(
            workbook.MentorRow(
                number=member.person.number,
                name=member.person.name,
                college=member.college.name,
                scores={
                    i.id: Decimal(s.tenths) / 10
                    for i in items
                    if (s := scores.get((pid, i.id, scope.source)))
                },
                self_scores={
                    i.id: Decimal(s.tenths) / 10
                    for i in items
                    if (s := scores.get((pid, i.id, ScoreSource.SELF)))
                },
                figures=figure_text,
                suggested=suggested,
                summary_url=(
                    f"{env.base_url}/m/cycle/summary/{summary[pid]}" if pid in summary else None
                ),
            )
        )
    title = f"{cycle.year.code} 学年导师考核评分表（{scope_title(session, scope)}）"
    return f"{cycle.year.code}-评分表-{scope.name}.xlsx", workbook.build(title, items, rows)


@dataclass(frozen=True)
class Change:
    number: str
    name: str
    item: str
    old: Decimal | None
    new: Decimal

    def line(self) -> str:
        old = "未评" if self.old is None else fmt(self.old)
        return f"{self.name}（{self.number}）{self.item}：{old} → {fmt(self.new)}"


@dataclass(frozen=True)
class Checked:
    problems: list[str]
    changes: list[Change]


def check_upload(
    session: so.Session, cycle: AssessmentCycle, scope: Scope, content: bytes
) -> Checked:
    """Every problem of an uploaded workbook, or the changes it would make."""
    if cycle.status != CycleStatus.OPEN:
        return Checked(["考核已公示或结束，评分不能再通过评分表修改。"], [])
    if is_submitted(session, cycle, scope):
        return Checked(["本范围的评分已经提交，不能再修改。如需更正，请联系书院部。"], [])
    people = {m.person.number: m.person for m in members(session, cycle, scope.college_id)}
    parsed = workbook.parse(
        content,
        scope_items(cycle, scope),
        {n: p.name for n, p in people.items()},
        decimals=rubric_of(cycle).score_decimals,
    )
    if not parsed.ok:
        return Checked(parsed.problems, [])
    saved = saved_scores(session, cycle, scope.source)
    changes = []
    for number, row in parsed.scores.items():
        person = people[number]
        for item_id, value in row.items():
            old = saved.get((person.id, item_id, scope.source))
            old_value = None if old is None else Decimal(old.tenths) / 10
            if old_value != value:
                changes.append(Change(number, person.name, item_id, old_value, value))
    return Checked([], changes)


def save_changes(
    session: so.Session,
    cycle: AssessmentCycle,
    scope: Scope,
    changes: list[Change],
    *,
    actor: Person,
    now: datetime,
) -> int:
    """Save the confirmed changes with who and when; one audit entry per score."""
    if cycle.status != CycleStatus.OPEN or is_submitted(session, cycle, scope):
        raise CycleError("评分已提交或考核已公示，不能再修改。")
    people = {m.person.number: m.person for m in members(session, cycle, scope.college_id)}
    saved = saved_scores(session, cycle, scope.source)
    for change in changes:
        person = people[change.number]
        tenths = int(change.new * 10)
        score = saved.get((person.id, change.item, scope.source))
        before = None if score is None else {"tenths": score.tenths}
        if score is None:
            score = ItemScore(
                cycle_id=cycle.id, mentor_id=person.id, item=change.item, source=scope.source,
                tenths=tenths, given_by_id=actor.id, given_at=now,
            )  # fmt: skip
            session.add(score)
            session.flush()
        else:
            score.tenths, score.given_by_id, score.given_at = tenths, actor.id, now
        audit(
            session, actor=actor, action="score", entity="item_score", entity_id=score.id,
            now=now, before=before,
            after={"mentor_id": person.id, "item": change.item, "tenths": tenths},
        )  # fmt: skip
    return len(changes)


def is_submitted(session: so.Session, cycle: AssessmentCycle, scope: Scope) -> bool:
    return (
        session.scalar(
            sa.select(Submission.id).where(
                Submission.cycle_id == cycle.id,
                Submission.step == scope.step,
                Submission.subject_id == scope.subject_id,
            )
        )
        is not None
    )


def submit(
    session: so.Session, cycle: AssessmentCycle, scope: Scope, *, actor: Person, now: datetime
) -> str:
    """Mark the scope's scoring done; refuses while a mentor still lacks a score."""
    if cycle.status != CycleStatus.OPEN:
        raise CycleError("考核已公示或结束。")
    if is_submitted(session, cycle, scope):
        return f"{scope_title(session, scope)}的评分已经提交过了。"
    items = [i.id for i in scope_items(cycle, scope) if not i.id.startswith("E")]
    rubric = rubric_of(cycle)
    items = [i for i in items if rubric.role_of(i) != "bonus"]
    saved = saved_scores(session, cycle, scope.source)
    lacking = [
        m.person.name
        for m in members(session, cycle, scope.college_id)
        if any((m.person.id, i, scope.source) not in saved for i in items)
    ]
    if lacking:
        raise CycleError(
            f"还有 {len(lacking)} 位导师的评分不完整：{'、'.join(lacking[:10])}"
            f"{'等' if len(lacking) > 10 else ''}。请补全后再提交。"
        )
    session.add(
        Submission(
            cycle_id=cycle.id, step=scope.step, subject_id=scope.subject_id,
            submitted_by_id=actor.id, submitted_at=now,
        )
    )  # fmt: skip
    audit(
        session, actor=actor, action="submit", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after={"step": scope.step, "subject_id": scope.subject_id},
    )  # fmt: skip
    if scope.college_id is None:  # the office's A scores go back to the colleges
        admins = {
            p.userid
            for college in colleges(session, cycle)
            for p in holders(session, Role.COLLEGE_ADMIN, college.id)
        }
        outbox.enqueue(
            session,
            sorted(admins),
            Message.text(
                f"书院部已提交 {cycle.year.code} 学年 A 项（联动融合）评分，可在评分表中查看。"
            ),
            key=f"cycle:{cycle.id}:academy-submitted",
            now=now,
        )
    return f"已提交{scope_title(session, scope)}的评分，谢谢！"


# --- progress ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeProgress:
    title: str
    step: str
    mentors: int
    complete: int  # mentors with every required score of this scope
    submitted: bool
    deadline: str | None


def progress(
    session: so.Session, cycle: AssessmentCycle, college_ids: set[int] | None = None
) -> list[ScopeProgress]:
    """Per college (all, or those given) and for the office: scored, submitted, deadline."""
    rubric = rubric_of(cycle)
    people = members(session, cycle)
    saved = saved_scores(session, cycle)
    done = {
        (s.step, s.subject_id)
        for s in session.scalars(sa.select(Submission).where(Submission.cycle_id == cycle.id))
    }
    college_items = [i for i in college_item_ids(rubric) if rubric.role_of(i) == "college"]
    academy_items = academy_item_ids(rubric)

    def complete(group: list, items: list[str], source: ScoreSource) -> int:
        return sum(all((m.person.id, i, source) in saved for i in items) for m in group)

    rows = []
    for college in colleges(session, cycle):
        if college_ids is not None and college.id not in college_ids:
            continue
        group = [m for m in people if m.college.id == college.id]
        rows.append(
            ScopeProgress(
                college.name, "college", len(group),
                complete(group, college_items, ScoreSource.COLLEGE),
                ("college", college.id) in done, cycle.deadlines.get("college"),
            )
        )  # fmt: skip
    rows.append(
        ScopeProgress(
            "书院部", "academy", len(people),
            complete(people, academy_items, ScoreSource.ACADEMY),
            ("academy", ACADEMY_SUBJECT) in done, cycle.deadlines.get("academy"),
        )
    )  # fmt: skip
    return rows


def has_self_assessed(session: so.Session, cycle: AssessmentCycle, mentor_id: int) -> bool:
    return (
        session.scalar(
            sa.select(Submission.id).where(
                Submission.cycle_id == cycle.id,
                Submission.step == "self",
                Submission.subject_id == mentor_id,
            )
        )
        is not None
    )


def self_progress(session: so.Session, cycle: AssessmentCycle) -> tuple[int, int]:
    """(mentors who submitted their self-assessment, mentors)."""
    people = members(session, cycle)
    done = session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.cycle_id == cycle.id, Submission.step == "self"
        )
    )
    return done or 0, len(people)


def progress_text(
    session: so.Session, cycle: AssessmentCycle, person: Person | None, today: date
) -> str:
    """The office's view (``person`` None: the command line), or a college admin's."""
    office = person is None or access.is_office(person)
    own = None if office or person is None else access.admin_college_ids(person)
    rows = progress(session, cycle, own)
    if not office:
        rows = [r for r in rows if r.step == "college"]
    status = {
        CycleStatus.OPEN: "评分中",
        CycleStatus.PUBLISHED: "公示中",
        CycleStatus.CLOSED: "已结束",
    }
    lines = [f"{cycle.year.code} 学年导师考核进度（{status[cycle.status]}）"]
    for row in rows:
        state = "已提交" if row.submitted else f"已评 {row.complete}/{row.mentors} 位，未提交"
        late = (
            "，已逾期"
            if not row.submitted and row.deadline and date.fromisoformat(row.deadline) < today
            else ""
        )
        lines.append(f"· {row.title}：{state}{late}")
    if office:
        done, total = self_progress(session, cycle)
        lines.append(f"· 导师自评：{done}/{total} 位已提交")
        missing = [r.title for r in rows if not r.submitted]
        lines.append("尚未提交：" + ("、".join(missing) if missing else "无，可以公示"))
    return "\n".join(lines)


# --- publication -------------------------------------------------------------------------------


def add_working_days(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def missing_steps(session: so.Session, cycle: AssessmentCycle) -> list[str]:
    return [r.title for r in progress(session, cycle) if not r.submitted]


def publish(
    session: so.Session,
    cycle: AssessmentCycle,
    *,
    actor: Person | None,
    now: datetime,
    env: Env,
    force: bool = False,
) -> str:
    """公示: compute results, tell mentors, college heads, unit heads and the office."""
    if cycle.status != CycleStatus.OPEN:
        raise CycleError("本次考核已经公示过了。")
    missing = missing_steps(session, cycle)
    if missing and not force:
        raise CycleError(
            f"尚未提交：{'、'.join(missing)}。如仍要公示，请发送“公示 强制”（将注明缺少的部分）。"
        )
    local_today = now.astimezone(env.zone).date()
    until = add_working_days(local_today, OBJECTION_WORKING_DAYS)
    cycle.status = CycleStatus.PUBLISHED
    cycle.published_at = now
    cycle.objections_until = datetime.combine(until, time(23, 59, 59), tzinfo=env.zone)
    audit(
        session, actor=actor, action="publish", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after={"missing": missing, "objections_until": until.isoformat()},
    )  # fmt: skip
    results = compute(session, cycle)
    store_results(session, cycle, results, reason=ResultsReason.PUBLISH, actor=actor, now=now)
    announce(session, cycle, results, now=now, env=env, stage="publish")
    office = [p.userid for p in holders(session, Role.ACADEMY_ADMIN)]
    note = f"（缺少：{'、'.join(missing)}，相关导师结果未完成）" if missing else ""
    outbox.enqueue(
        session,
        office,
        Message.markdown(
            f"**{cycle.year.code} 学年导师考核已公示**{note}\n"
            f"异议期至 {until.month}月{until.day}日。\n"
            f"[下载全校结果表]({messages.results_url(env.base_url, cycle.id)})"
        ),
        key=f"cycle:{cycle.id}:publish:office",
        now=now,
    )
    send_results_workbook(session, cycle, office, now=now, env=env, stage="publish")
    return f"已公示。异议期至 {until.month}月{until.day}日。" + note


def store_results(
    session: so.Session,
    cycle: AssessmentCycle,
    results: Results,
    *,
    reason: ResultsReason,
    actor: Person | None,
    now: datetime,
    correction: Correction | None = None,
) -> ResultSnapshot:
    """Store ``results`` as the cycle's results from now on; the stored results they replace
    stay (every snapshot is kept, the newest counts) and the audit log names both."""
    previous = session.scalar(
        sa.select(sa.func.max(ResultSnapshot.id)).where(ResultSnapshot.cycle_id == cycle.id)
    )
    mentors, college_rows = dump(results, rubric_of(cycle))
    snapshot = ResultSnapshot(
        cycle_id=cycle.id, reason=reason, stored_at=now, actor_id=actor.id if actor else None,
        correction_id=correction.id if correction else None, rubric=cycle.rubric,
        mentors=mentors, colleges=college_rows,
    )  # fmt: skip
    session.add(snapshot)
    session.flush()
    audit(
        session, actor=actor, action="store_results", entity="assessment_cycle",
        entity_id=cycle.id, now=now,
        before=None if previous is None else {"snapshot_id": previous},
        after={"snapshot_id": snapshot.id, "reason": reason.value, "mentors": len(mentors)},
    )  # fmt: skip
    return snapshot


def backfill_results(
    session: so.Session, cycle: AssessmentCycle, *, now: datetime
) -> ResultSnapshot | None:
    """Store the results of a cycle published before results were stored (computed once,
    now); None when the cycle is open or already has stored results."""
    if cycle.status == CycleStatus.OPEN or latest_snapshot(session, cycle) is not None:
        return None
    return store_results(
        session, cycle, compute(session, cycle), reason=ResultsReason.BACKFILL, actor=None,
        now=now,
    )  # fmt: skip


def objections_until_text(cycle: AssessmentCycle, zone: ZoneInfo) -> str | None:
    if cycle.status != CycleStatus.PUBLISHED or cycle.objections_until is None:
        return None
    day = cycle.objections_until.astimezone(zone)
    return f"{day.month}月{day.day}日"


def announce(
    session: so.Session,
    cycle: AssessmentCycle,
    results: Results,
    *,
    now: datetime,
    env: Env,
    stage: str,
    only: set[int] | None = None,
) -> None:
    """Result cards to mentors (all, or ``only``); on publish and close also the digests,
    each college's with its chart (an image after the markdown)."""
    until = objections_until_text(cycle, env.zone)
    for member in results.members:
        if only is not None and member.person.id not in only:
            continue
        card = messages.result_card(
            cycle.year.code, member.person.name, results.of(member.person.id),
            base=env.base_url, cycle_id=cycle.id, objections_until=until,
            changed=stage.startswith("change"),
        )  # fmt: skip
        outbox.enqueue(
            session, [member.person.userid], card, key=f"cycle:{cycle.id}:{stage}:result", now=now
        )
    if only is not None:
        return
    final = stage == "close"
    scores = results.scores
    for college in result_colleges(results):
        lines = college_lines(results, college.id)
        heads = holders(session, Role.COLLEGE_HEAD, college.id)
        if college.head_id:
            heads.append(session.get(Person, college.head_id))
        digest = messages.ranking_digest(
            cycle.year.code, college.name, lines,
            messages.results_url(env.base_url, cycle.id, college=college.id), final=final,
        )  # fmt: skip
        recipients = sorted({p.userid for p in heads if p})
        outbox.enqueue(
            session, recipients, digest,
            key=f"cycle:{cycle.id}:{stage}:college-{college.id}", now=now,
        )  # fmt: skip
        chart = college_chart(cycle, results, scores, college, now=now, env=env, final=final)
        if recipients and chart is not None:
            outbox.enqueue(
                session, recipients, chart,
                key=f"cycle:{cycle.id}:{stage}:chart-{college.id}", now=now,
            )  # fmt: skip
    by_unit: dict[int, list[str]] = {}
    for member in results.members:
        if member.unit is not None:
            result = results.of(member.person.id)
            by_unit.setdefault(member.unit.id, []).append(
                f"{member.person.name}（{member.college.name}）：{summary_line(result)}"
            )
    for unit_id, lines in by_unit.items():
        unit = session.get(Unit, unit_id)
        if unit is None or unit.head_id is None:
            continue
        head = session.get(Person, unit.head_id)
        if head is None:
            continue
        what = "最终结果" if final else "结果（公示）"
        url = messages.results_url(env.base_url, cycle.id, unit=unit_id)
        text = (
            f"**{unit.name}导师 {cycle.year.code} 学年考核{what}**\n"
            + messages.fit(lines, 1500)
            + f"\n[下载本单位导师结果表]({url})"
        )
        outbox.enqueue(
            session, [head.userid], Message.markdown(text),
            key=f"cycle:{cycle.id}:{stage}:unit-{unit_id}", now=now,
        )  # fmt: skip


def result_colleges(results: Results) -> list[Unit]:
    """The colleges of ``results`` in the order of their members."""
    seen: dict[int, Unit] = {}
    for member in results.members:
        seen.setdefault(member.college.id, member.college)
    return list(seen.values())


def college_chart(
    cycle: AssessmentCycle,
    results: Results,
    scores: Mapping[tuple[int, str, ScoreSource], ItemScore],
    college: Unit,
    *,
    now: datetime,
    env: Env,
    final: bool,
) -> Message | None:
    """The college's chart saved in the file store, as an image message; None (logged) when
    it cannot be drawn or stored: the digest goes out without it, publication never fails
    for want of a picture."""
    if env.files is None:
        log.warning("cycle_chart_skipped", reason="no_file_store", college_id=college.id)
        return None
    if not any(m.college.id == college.id for m in results.members):
        return None
    year = cycle.year.code
    title = f"{college.name} {year} 学年导师考核" + ("最终结果" if final else "（公示）")
    data = charts.college_chart(
        results, scores, rubric_of(cycle), college_id=college.id, title=title
    )
    try:
        stored = env.files.put(charts.render_png(data), ".png", now)
    except charts.ChartFontMissing as exc:
        log.warning("cycle_chart_skipped", reason="no_cjk_font", detail=str(exc))
        return None
    except Exception:
        log.exception("cycle_chart_failed", college_id=college.id)
        return None
    return Message.image(stored.key, f"{year}-{college.name}-考核图表.png")


def send_results_workbook(
    session: so.Session,
    cycle: AssessmentCycle,
    userids: list[str],
    *,
    now: datetime,
    env: Env,
    stage: str,
) -> None:
    """The whole-school results workbook as a file message, saved in the store first. If the
    store fails, the error is logged and the office keeps the download link of its note."""
    if not userids:
        return
    if env.files is None:
        log.warning("cycle_workbook_skipped", reason="no_file_store", cycle_id=cycle.id)
        return
    try:
        stored = env.files.put(export.results_workbook(session, cycle), ".xlsx", now)
    except OSError:
        log.exception("cycle_workbook_failed", cycle_id=cycle.id)
        return
    what = "最终结果" if stage == "close" else "结果（公示）"
    outbox.enqueue(
        session, userids, Message.file(stored.key, f"{cycle.year.code}-全校导师考核{what}.xlsx"),
        key=f"cycle:{cycle.id}:{stage}:office-workbook", now=now,
    )  # fmt: skip


def college_lines(results: Results, college_id: int) -> list[str]:
    group = [m for m in results.members if m.college.id == college_id]
    ranked = sorted(
        group,
        key=lambda m: (results.of(m.person.id).rank or 10**6, m.person.number),
    )
    return [f"{m.person.name}：{summary_line(results.of(m.person.id))}" for m in ranked]


# --- objections and corrections ------------------------------------------------------------------


def raise_objection(
    session: so.Session, cycle: AssessmentCycle, mentor: Person, text: str, *, now: datetime
) -> Objection:
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("现在不在考核结果公示期，不能提出异议。")
    if cycle.objections_until is not None and now > cycle.objections_until:
        raise CycleError("异议期已经结束。")
    published = current(session, cycle)
    if not published.has(mentor.id):
        raise CycleError("您不在本次考核的导师名单中。")
    member = published.member(mentor.id)
    objection = Objection(
        cycle_id=cycle.id, mentor_id=mentor.id, text=text[:2000],
        status=ObjectionStatus.OPEN, created_at=now,
    )  # fmt: skip
    session.add(objection)
    session.flush()
    audit(
        session, actor=mentor, action="object", entity="objection", entity_id=objection.id,
        now=now, after={"cycle_id": cycle.id},
    )  # fmt: skip
    notice = Message.text(
        f"收到异议 #{objection.id}：{mentor.name}（{mentor.number}，{member.college.name}）\n"
        f"{objection.text[:600]}\n"
        f"书院部答复：答复 {objection.id} 答复内容\n"
        f"如需更正分数：更正 {objection.id} 项目 新分数 原因"
        f"（例：更正 {objection.id} B4 4.5 已核实学期计划）"
    )
    office = {p.userid for p in holders(session, Role.ACADEMY_ADMIN)}
    college = {p.userid for p in holders(session, Role.COLLEGE_ADMIN, member.college.id)}
    outbox.enqueue(
        session, sorted(office | college), notice, key=f"objection:{objection.id}", now=now
    )
    return objection


def answer_objection(
    session: so.Session, objection_id: int, text: str, *, actor: Person, now: datetime
) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise CycleError(f"没有编号为 {objection_id} 的异议。")
    objection.status = ObjectionStatus.ANSWERED
    objection.answer = text[:2000]
    objection.answered_by_id = actor.id
    objection.answered_at = now
    audit(
        session, actor=actor, action="answer", entity="objection", entity_id=objection.id, now=now
    )
    mentor = session.get(Person, objection.mentor_id)
    if mentor is not None:
        outbox.enqueue(
            session,
            [mentor.userid],
            Message.text(f"书院部对您的异议 #{objection.id} 的答复：\n{objection.answer}"),
            key=f"objection:{objection.id}:answer:{now.timestamp()}",
            now=now,
        )
    return objection


def correct(
    session: so.Session,
    cycle: AssessmentCycle,
    *,
    mentor: Person,
    item: str,
    value: Decimal,
    reason: str,
    actor: Person,
    now: datetime,
    env: Env,
    objection: Objection | None = None,
) -> list[int]:
    """Change one saved score with a written reason; recompute and tell everyone whose
    result changed. Returns the ids of those mentors."""
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("只有公示期内可以更正分数；考核结束后结果不能再修改。")
    reason = reason.strip()
    if not reason:
        raise CycleError("更正分数必须写明原因。")
    rubric = rubric_of(cycle)
    spec = rubric.item_by_id.get(item)
    if spec is None or rubric.role_of(item) == "satisfaction":
        raise CycleError(f"“{echo(item)}”不是可以更正的考核项。")
    if not (Decimal(0) <= value <= spec.max) or value != value.quantize(Decimal("0.1")):
        raise CycleError(f"{item} 的分数须在 0–{fmt(spec.max)} 之间，最多一位小数。")
    source = source_of(rubric, item)
    score = session.scalar(
        sa.select(ItemScore).where(
            ItemScore.cycle_id == cycle.id, ItemScore.mentor_id == mentor.id,
            ItemScore.item == item, ItemScore.source == source,
        )
    )  # fmt: skip
    if score is None:
        raise CycleError(f"{mentor.name} 的 {item} 还没有评分，无法更正。")
    before = current(session, cycle)  # as published or last corrected
    tenths = int(value * 10)
    correction = Correction(
        item_score_id=score.id, objection_id=objection.id if objection else None,
        old_tenths=score.tenths, new_tenths=tenths, reason=reason[:1000],
        corrected_by_id=actor.id, corrected_at=now,
    )  # fmt: skip
    session.add(correction)
    audit(
        session, actor=actor, action="correct", entity="item_score", entity_id=score.id, now=now,
        before={"tenths": score.tenths}, after={"tenths": tenths, "reason": reason[:1000]},
    )  # fmt: skip
    score.tenths, score.given_by_id, score.given_at = tenths, actor.id, now
    session.flush()
    after = compute(session, cycle)  # the objection period: the only recomputation after 公示
    store_results(
        session, cycle, after, reason=ResultsReason.CORRECT, actor=actor, now=now,
        correction=correction,
    )  # fmt: skip
    changed = {
        m.person.id
        for m in after.members
        if not before.has(m.person.id)
        or fingerprint(after.of(m.person.id)) != fingerprint(before.of(m.person.id))
    }
    announce(
        session, cycle, after, now=now, env=env, stage=f"change-{score.id}-{now.timestamp()}",
        only=changed,
    )  # fmt: skip
    return sorted(changed)


# --- closing -----------------------------------------------------------------------------------


def close(
    session: so.Session, cycle: AssessmentCycle, *, actor: Person | None, now: datetime, env: Env
) -> str:
    if cycle.status == CycleStatus.CLOSED:
        return "本次考核已经结束。"
    if cycle.status != CycleStatus.PUBLISHED:
        raise CycleError("考核还没有公示，不能结束。")
    open_objections = session.scalar(
        sa.select(sa.func.count(Objection.id)).where(
            Objection.cycle_id == cycle.id, Objection.status == ObjectionStatus.OPEN
        )
    )
    if open_objections:
        raise CycleError(f"还有 {open_objections} 条异议没有答复，请先答复。")
    published = current(session, cycle)  # the stored results: closing recomputes nothing
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now
    audit(
        session, actor=actor, action="close", entity="assessment_cycle", entity_id=cycle.id, now=now
    )
    store_results(session, cycle, published, reason=ResultsReason.CLOSE, actor=actor, now=now)
    announce(session, cycle, published, now=now, env=env, stage="close")
    office = [p.userid for p in holders(session, Role.ACADEMY_ADMIN)]
    attached = "全校最终结果表见下一条消息；" if env.files is not None else ""
    outbox.enqueue(
        session, office,
        Message.markdown(
            f"**{cycle.year.code} 学年导师考核已结束**\n结果已确定，已发送给导师、学院负责人和"
            f"单位负责人。{attached}导出优秀导师名单、历年记录等请发送“导出”。"
        ),
        key=f"cycle:{cycle.id}:close:office", now=now,
    )  # fmt: skip
    send_results_workbook(session, cycle, office, now=now, env=env, stage="close")
    return "考核已结束，结果已确定并发送给导师、学院负责人和单位负责人。导出：发送“导出”。"
