"""Scoring by workbook: the scopes (a college, the academy office), who may score and view
them, building, checking and saving a workbook, and submitting a scope's scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.inputs import parse_id
from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    EvidenceFile,
    EvidenceStatus,
    ItemScore,
    Person,
    Role,
    ScoreSource,
    Submission,
    Unit,
)
from bot.cycle import access, feedback, messages, workbook
from bot.cycle.cycles import ACADEMY_SUBJECT, CycleError, Env, audit, colleges
from bot.cycle.evidence import figures
from bot.cycle.results import (
    academy_item_ids,
    college_item_ids,
    members,
    rubric_of,
    saved_scores,
)
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids
from scoring.numbers import fmt


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
    college_id = parse_id(number) if prefix == "college" else None
    return None if college_id is None else Scope(name, college_id)


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
        workbook.ItemColumn(
            i, rubric.item_by_id[i].title, rubric.item_by_id[i].max, rubric.role_of(i) == "bonus"
        )
        for i in ids
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
    session: so.Session,
    cycle: AssessmentCycle,
    scope: Scope,
    env: Env,
    *,
    now: datetime | None = None,
) -> tuple[str, bytes]:
    """(file name, xlsx bytes) of the scope's workbook with everything known so far (at
    ``now``: a year not over yet counts only the periods ended so far)."""
    items = scope_items(cycle, scope)
    people = members(session, cycle, scope.college_id)
    ids = [m.person.id for m in people]
    rubric = rubric_of(cycle)
    evidence = figures(session, cycle.year, rubric, env.zone, ids, scope.college_id, now=now)
    scores = saved_scores(session, cycle)
    summary = summaries(session, ids)
    fed_back = (
        None
        if scope.college_id is None
        else feedback.college_lines(session, cycle, scope.college_id)
    )
    shown = {line.person_id: line for line in fed_back or []}
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
                notes={
                    i.id: s.note
                    for i in items
                    if (s := scores.get((pid, i.id, scope.source))) and s.note
                },
                self_notes={
                    i.id: s.note
                    for i in items
                    if (s := scores.get((pid, i.id, ScoreSource.SELF))) and s.note
                },
                summary_url=(
                    f"{env.base_url}/m/cycle/summary/{summary[pid]}" if pid in summary else None
                ),
                shown=shown[pid].academy if pid in shown else {},
                total=shown[pid].total if pid in shown else None,
                rank=shown[pid].rank if pid in shown else "",
            )
        )
    title = f"{cycle.year.code} 学年导师考核评分表（{scope_title(session, scope)}）"
    read_only = feedback.academy_items(cycle) if fed_back is not None else []
    content = workbook.build(title, items, rows, read_only)
    return f"{cycle.year.code}-评分表-{scope.name}.xlsx", content


@dataclass(frozen=True)
class Change:
    """One score to save; a bonus item's (``yes_no``) with the competition or paper named."""

    number: str
    name: str
    item: str
    old: Decimal | None
    new: Decimal
    yes_no: bool = False
    note: str | None = None

    def line(self) -> str:
        if self.yes_no:
            old = "未评" if self.old is None else workbook.yes_no_text(self.old)
            named = f"（{self.note}）" if self.note else ""
            new = workbook.yes_no_text(self.new)
            return f"{self.name}（{self.number}）{self.item}：{old} → {new}{named}"
        old = "未评" if self.old is None else fmt(self.old)
        return f"{self.name}（{self.number}）{self.item}：{old} → {fmt(self.new)}"


SUMMARY_MENTORS = 5  # mentors named in the chat summary of a save; the page has the rest
SUMMARY_ITEMS = 3  # items named per mentor


def saved_summary(title: str, changes: Sequence[Change], url: str) -> Message:
    """The chat note after a scoring workbook was saved: how many scores for how many mentors,
    a line for each of the first few mentors, and the link to the page with everything."""
    by_mentor: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        by_mentor.setdefault((change.name, change.number), []).append(change)
    lines = [f"**已保存{title} {len(changes)} 项评分（{len(by_mentor)} 位导师）**"]
    for (name, number), own in list(by_mentor.items())[:SUMMARY_MENTORS]:
        shown = "、".join(f"{c.item} {fmt(c.new)}" for c in own[:SUMMARY_ITEMS])
        more = f" 等 {len(own)} 项" if len(own) > SUMMARY_ITEMS else ""
        lines.append(f"> {name}（{number}）：{shown}{more}")
    if len(by_mentor) > SUMMARY_MENTORS:
        lines.append(f"> ……另有 {len(by_mentor) - SUMMARY_MENTORS} 位导师")
    lines.append(f"[查看全部评分与评分表]({url})")
    lines.append("全部评完后点卡片上的“提交评分”或发送“提交评分”。")
    return Message.markdown("\n".join(lines))


@dataclass(frozen=True)
class Checked:
    problems: list[str]
    changes: list[Change]


def is_late(session: so.Session, cycle: AssessmentCycle, scope: Scope) -> bool:
    """A college that had not submitted when the office published: its workbook may still be
    accepted by the office (bot.cycle.late) until the cycle closes."""
    return (
        cycle.status == CycleStatus.PUBLISHED
        and scope.college_id is not None
        and not is_submitted(session, cycle, scope)
    )


def may_upload(session: so.Session, person: Person, cycle: AssessmentCycle, scope: Scope) -> bool:
    """Scoring while the cycle is open; after publication the office, for a late college."""
    if cycle.status == CycleStatus.OPEN:
        return may_score(person, scope)
    return access.is_office(person) and is_late(session, cycle, scope)


def required_items(cycle: AssessmentCycle, scope: Scope) -> list[str]:
    """The items every mentor of the scope must have before it is submitted (not the bonus)."""
    rubric = rubric_of(cycle)
    return [i.id for i in scope_items(cycle, scope) if rubric.role_of(i.id) != "bonus"]


def check_upload(
    session: so.Session,
    cycle: AssessmentCycle,
    scope: Scope,
    content: bytes,
    *,
    accept_late: bool = False,
) -> Checked:
    """Every problem of an uploaded workbook, or the changes it would make. With
    ``accept_late`` (the office) a late college's workbook is checked after publication too,
    and must then leave every mentor of the college with all their scores."""
    late = accept_late and is_late(session, cycle, scope)
    if cycle.status != CycleStatus.OPEN and not late:
        if is_late(session, cycle, scope):
            return Checked(["考核已公示。逾期的评分表请发给书院部，由书院部补录。"], [])
        return Checked(["考核已公示或结束，评分不能再通过评分表修改。"], [])
    if is_submitted(session, cycle, scope):
        return Checked(["本范围的评分已经提交，不能再修改。如需更正，请联系书院部。"], [])
    people = {m.person.number: m.person for m in members(session, cycle, scope.college_id)}
    items = {item.id: item for item in scope_items(cycle, scope)}
    parsed = workbook.parse(
        content,
        list(items.values()),
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
            note = parsed.notes.get(number, {}).get(item_id)
            if old_value != value or (old is not None and old.note != note):
                changes.append(
                    Change(
                        number, person.name, item_id, old_value, value, items[item_id].yes_no, note
                    )
                )
    if late:
        required = required_items(cycle, scope)
        lacking = [
            f"{person.name}（{number}）缺 {'、'.join(missing)}"
            for number, person in people.items()
            if (
                missing := [
                    i
                    for i in required
                    if (person.id, i, scope.source) not in saved
                    and i not in parsed.scores.get(number, {})
                ]
            )
        ]
        if lacking:
            return Checked([f"补录的评分表须评全本学院每位导师：{m}" for m in lacking], [])
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
                tenths=tenths, given_by_id=actor.id, given_at=now, note=change.note,
            )  # fmt: skip
            session.add(score)
            session.flush()
        else:
            if score.note is not None and before is not None:
                before["note"] = score.note
            score.tenths, score.given_by_id, score.given_at = tenths, actor.id, now
            score.note = change.note
        after = {"mentor_id": person.id, "item": change.item, "tenths": tenths}
        if change.note is not None:
            after["note"] = change.note
        audit(
            session, actor=actor, action="score", entity="item_score", entity_id=score.id,
            now=now, before=before, after=after,
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
    session: so.Session,
    cycle: AssessmentCycle,
    scope: Scope,
    *,
    actor: Person,
    now: datetime,
    confirmed: bool = False,
) -> str:
    """Mark the scope's scoring done; refuses while a mentor still lacks a score. A college
    submitting before the office's A scores exist is told so and asked to confirm."""
    if cycle.status != CycleStatus.OPEN:
        raise CycleError("考核已公示或结束。")
    if is_submitted(session, cycle, scope):
        return f"{scope_title(session, scope)}的评分已经提交过了。"
    items = required_items(cycle, scope)
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
    if (
        scope.college_id is not None
        and not confirmed
        and not feedback.academy_submitted(session, cycle)
    ):
        raise CycleError(
            "书院部尚未提交 A 项（联动融合）评分，现在还看不到导师的总分和院内排名；"
            "提交后本学院评分不能再修改。如仍要现在提交，请发送“提交评分 确认”。"
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
            userid
            for college in colleges(session, cycle)
            for userid in holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college.id)
        }
        outbox.enqueue(
            session,
            sorted(admins),
            Message.text(
                f"书院部已提交 {cycle.year.code} 学年 A 项（联动融合）评分。"
                "本学院的评分表和评分页面现在显示导师的 A 项得分、总分和院内排名（只读）；"
                "发送“评分表”可打开。"
            ),
            key=f"cycle:{cycle.id}:academy-submitted",
            now=now,
        )
    return f"已提交{scope_title(session, scope)}的评分，谢谢！"
