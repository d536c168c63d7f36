"""Publication (公示): results computed and stored, everyone concerned told (mentors,
college heads and administrators, unit heads, the office, HR and 教务处, with charts and
workbooks), the objection period set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.calendar import is_working_day
from bot.core.models import (
    AssessmentCycle,
    Correction,
    CycleStatus,
    ItemScore,
    Person,
    ResultSnapshot,
    ResultsReason,
    Role,
    ScoreSource,
    Unit,
)
from bot.cycle import charts, export, messages, oversight
from bot.cycle.cycles import OBJECTION_WORKING_DAYS, CycleError, Env, audit, log
from bot.cycle.progress import missing_self, named, progress
from bot.cycle.results import (
    Results,
    compute,
    dump,
    latest_snapshot,
    rubric_of,
    summary_line,
)
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.roster.holders import holder_userids, holders, unit_heads


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
    open_windows: Sequence[str] = (),
) -> str:
    """公示: compute results, tell mentors, college heads, unit heads and the office. Refused,
    naming them, while a college or the office has not submitted, a mentor has not
    self-assessed, or one of ``open_windows`` (students' rating windows still open, one line
    each) is open; ``force`` publishes anyway and the audit log records what was missing."""
    if cycle.status != CycleStatus.OPEN:
        raise CycleError("本次考核已经公示过了。")
    missing = missing_steps(session, cycle)
    lacking_self = missing_self(session, cycle)
    windows = list(open_windows)
    if (missing or lacking_self or windows) and not force:
        reasons = []
        if missing:
            reasons.append(f"尚未提交评分：{'、'.join(missing)}")
        if lacking_self:
            reasons.append(f"尚未提交自评的导师：{named(lacking_self)}")
        reasons.extend(windows)
        raise CycleError(
            "\n".join(reasons) + "\n如仍要公示，请发送“公示 强制”（将注明缺少的部分）。"
        )
    local_today = now.astimezone(env.zone).date()
    until = add_working_days(local_today, OBJECTION_WORKING_DAYS)
    cycle.status = CycleStatus.PUBLISHED
    cycle.published_at = now
    cycle.objections_until = datetime.combine(until, time(23, 59, 59), tzinfo=env.zone)
    audit(
        session, actor=actor, action="publish", entity="assessment_cycle", entity_id=cycle.id,
        now=now,
        after={
            "missing": missing, "objections_until": until.isoformat(),
            "missing_self": [m.person.id for m in lacking_self], "open_windows": windows,
        },
    )  # fmt: skip
    results = compute(session, cycle)
    store_results(session, cycle, results, reason=ResultsReason.PUBLISH, actor=actor, now=now)
    announce(session, cycle, results, now=now, env=env, stage="publish")
    office = holder_userids(session, Role.ACADEMY_ADMIN)
    note = f"（缺少：{'、'.join(missing)}，相关导师结果未完成）" if missing else ""
    if lacking_self:
        note += f"（{len(lacking_self)} 位导师未提交自评）"
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
    tell_college_admins(session, cycle, results, missing, until=until, now=now, env=env)
    oversight.published(
        session, cycle, until=f"{until.month}月{until.day}日", note=note, now=now, env=env
    )
    return f"已公示。异议期至 {until.month}月{until.day}日。" + note


def tell_college_admins(
    session: so.Session,
    cycle: AssessmentCycle,
    results: Results,
    missing: Sequence[str],
    *,
    until: date,
    now: datetime,
    env: Env,
) -> None:
    """Each college's administrators: the results are out and objections reach them too; a
    college that had not submitted is told to hand its workbook to the office."""
    for college in result_colleges(results):
        lines = [f"**{college.name} {cycle.year.code} 学年导师考核结果已公示**"]
        if college.name in missing:
            lines.append(
                "本学院评分公示前没有提交，本学院导师结果未完成。请尽快将填好的评分表交书院部，"
                "由书院部在本学院评分页补录。"
            )
        lines.append(f"异议期至 {until.month}月{until.day}日，本学院导师的异议会同时发给您。")
        url = messages.results_url(env.base_url, cycle.id, college=college.id)
        lines.append(f"[下载本学院结果表]({url})")
        outbox.enqueue(
            session, holder_userids(session, Role.COLLEGE_ADMIN, unit_id=college.id),
            Message.markdown("\n".join(lines)),
            key=f"cycle:{cycle.id}:publish:college-admins-{college.id}", now=now,
        )  # fmt: skip


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
    extended: bool = False,
) -> None:
    """Result cards to mentors (all, or ``only``; ``extended``: their cards say that the
    objection period was extended); on publish and close also the digests, each college's
    with its chart (an image after the markdown)."""
    until = objections_until_text(cycle, env.zone)
    for member in results.members:
        if only is not None and member.person.id not in only:
            continue
        card = messages.result_card(
            cycle.year.code, member.person.name, results.of(member.person.id),
            base=env.base_url, cycle_id=cycle.id, objections_until=until,
            changed=stage.startswith("change"), extended=extended,
        )  # fmt: skip
        outbox.enqueue(
            session, [member.person.userid], card, key=f"cycle:{cycle.id}:{stage}:result", now=now
        )
    if only is not None:
        return
    for college in result_colleges(results):
        send_college_digest(session, cycle, results, college, now=now, env=env, stage=stage)
    send_unit_digests(session, cycle, results, now=now, env=env, stage=stage)


def send_unit_digests(
    session: so.Session,
    cycle: AssessmentCycle,
    results: Results,
    *,
    now: datetime,
    env: Env,
    stage: str,
    only: set[int] | None = None,
) -> None:
    """第八条: each mentor's own unit's heads get their mentors' results (all, or ``only``
    those mentors: a late college's, once its scores are in)."""
    final = stage == "close"
    by_unit: dict[int, list[str]] = {}
    for member in results.members:
        if only is not None and member.person.id not in only:
            continue
        if member.unit is not None:
            result = results.of(member.person.id)
            by_unit.setdefault(member.unit.id, []).append(
                f"{member.person.name}（{member.college.name}）：{summary_line(result)}"
            )
    for unit_id, lines in by_unit.items():
        unit = session.get(Unit, unit_id)
        heads = unit_heads(session, unit_id) if unit is not None else []
        if unit is None or not heads:
            continue
        what = "最终结果" if final else "结果（公示）" if only is None else "结果（已更新）"
        url = messages.results_url(env.base_url, cycle.id, unit=unit_id)
        text = (
            f"**{unit.name}导师 {cycle.year.code} 学年考核{what}**\n"
            + messages.fit(lines, 1500)
            + f"\n[下载本单位导师结果表]({url})"
        )
        outbox.enqueue(
            session, sorted(p.userid for p in heads), Message.markdown(text),
            key=f"cycle:{cycle.id}:{stage}:unit-{unit_id}", now=now,
        )  # fmt: skip


def send_college_digest(
    session: so.Session,
    cycle: AssessmentCycle,
    results: Results,
    college: Unit,
    *,
    now: datetime,
    env: Env,
    stage: str,
) -> None:
    """The college's ranking (with its outstanding mentors) and chart to its heads."""
    final = stage == "close"
    heads = holders(session, Role.COLLEGE_HEAD, unit_id=college.id)
    if college.head_id:
        heads.append(session.get(Person, college.head_id))
    digest = messages.ranking_digest(
        cycle.year.code, college.name, college_lines(results, college.id),
        messages.results_url(env.base_url, cycle.id, college=college.id), final=final,
    )  # fmt: skip
    recipients = sorted({p.userid for p in heads if p})
    outbox.enqueue(
        session, recipients, digest, key=f"cycle:{cycle.id}:{stage}:college-{college.id}", now=now
    )
    chart = college_chart(cycle, results, results.scores, college, now=now, env=env, final=final)
    if recipients and chart is not None:
        outbox.enqueue(
            session, recipients, chart,
            key=f"cycle:{cycle.id}:{stage}:chart-{college.id}", now=now,
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
