"""Assessment pages: a scoring hub per college and for the office (download the workbook,
upload it, confirm the changes), result downloads by permission, a mentor's own result, the
self-assessment and the closing exports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, render_template, request, session

from bot.core.db import get_session
from bot.core.echo import echo
from bot.core.filenames import content_type_of
from bot.core.inputs import id_or_missing, parse_number
from bot.core.models import (
    AssessmentCycle,
    CycleStatus,
    EvidenceFile,
    ItemScore,
    MentorAssignment,
    Person,
    ScoreSource,
    Submission,
)
from bot.core.storage import FileStore, app_file_store
from bot.cycle import (
    access,
    cycles,
    export,
    feedback,
    messages,
    oversight,
    progress,
    publication,
    result_detail,
    submissions,
)
from bot.cycle import late as late_college
from bot.cycle.cycles import CycleError, Env
from bot.cycle.evidence import figures
from bot.cycle.results import current, members, rubric_of, saved_scores
from bot.cycle.submissions import Scope
from bot.cycle.workbook import NOTE_MAX
from bot.outbox import queue as outbox
from bot.pages.auth import check_csrf, csrf_token, error_page, login_required
from bot.pages.files import download_response, xlsx_response
from scoring.numbers import fmt

blueprint = Blueprint("cycle", __name__, url_prefix="/m/cycle")

PENDING = "cycle_pending_upload"


def _env() -> Env:
    settings = current_app.extensions["settings"]
    return Env(settings.PUBLIC_BASE_URL, settings.zone, _store())


def _store() -> FileStore:
    return app_file_store(current_app)


def _cycle(cycle_id: int) -> AssessmentCycle | None:
    return get_session().get(AssessmentCycle, cycle_id)


def _scope_or_error(cycle_id: int, scope_name: str) -> tuple[AssessmentCycle, Scope] | Any:
    cycle = _cycle(cycle_id)
    scope = submissions.parse_scope(scope_name)
    if cycle is None or scope is None:
        return error_page(404, "没有这个考核评分表。请从机器人发来的链接打开。")
    if not (submissions.may_score(g.person, scope) or access.is_office(g.person)):
        return error_page(403, "您没有查看这个评分表的权限。")
    return cycle, scope


def _hub(cycle: AssessmentCycle, scope: Scope, **extra: Any) -> str:
    db = get_session()
    rows = progress.progress(db, cycle, None if scope.college_id is None else {scope.college_id})
    row = next(r for r in rows if r.step == scope.step)
    lines = (
        None if scope.college_id is None else feedback.college_lines(db, cycle, scope.college_id)
    )
    return render_template(
        "pages/cycle_hub.html",
        cycle=cycle,
        scope=scope,
        title=submissions.scope_title(db, scope),
        row=row,
        may_score=submissions.may_upload(db, g.person, cycle, scope),
        open=cycle.status == CycleStatus.OPEN or submissions.is_late(db, cycle, scope),
        late=cycle.status != CycleStatus.OPEN,
        csrf=csrf_token(),
        feedback=lines,
        academy_items=feedback.academy_items(cycle),
        fmt=fmt,
        **extra,
    )


@blueprint.get("/<id:cycle_id>/scores/<scope_name>")
@login_required
def hub(cycle_id: int, scope_name: str) -> Any:
    found = _scope_or_error(cycle_id, scope_name)
    if not isinstance(found, tuple) or not isinstance(found[0], AssessmentCycle):
        return found
    return _hub(*found)


@blueprint.get("/<id:cycle_id>/scores/<scope_name>/workbook.xlsx")
@login_required
def download_workbook(cycle_id: int, scope_name: str) -> Any:
    found = _scope_or_error(cycle_id, scope_name)
    if not isinstance(found, tuple) or not isinstance(found[0], AssessmentCycle):
        return found
    name, content = submissions.build_workbook(get_session(), *found, _env(), now=datetime.now(UTC))
    return xlsx_response(name, content)


@blueprint.post("/<id:cycle_id>/scores/<scope_name>/upload")
@login_required
def upload_workbook(cycle_id: int, scope_name: str) -> Any:
    check_csrf()
    found = _scope_or_error(cycle_id, scope_name)
    if not isinstance(found, tuple) or not isinstance(found[0], AssessmentCycle):
        return found
    cycle, scope = found
    db = get_session()
    if not submissions.may_upload(db, g.person, cycle, scope) and (
        cycle.status == CycleStatus.OPEN or not submissions.may_score(g.person, scope)
    ):  # a college admin after 公示 is told below where a late workbook goes
        return error_page(403, "只有本学院的管理员可以上传本学院的评分表。")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _hub(cycle, scope, problems=["请选择填好的评分表（.xlsx）。"]), 400
    content = upload.read(6 * 1024 * 1024)
    late = access.is_office(g.person)
    checked = submissions.check_upload(db, cycle, scope, content, accept_late=late)
    if checked.problems:
        return _hub(cycle, scope, problems=checked.problems), 400
    if not checked.changes:
        return _hub(cycle, scope, notice="评分表与已保存的分数相同，没有需要保存的修改。")
    stored = _store().put(content, ".xlsx", datetime.now(UTC))
    session[PENDING] = {"cycle": cycle.id, "scope": scope.name, "key": stored.key}
    return _confirm_page(cycle, scope, checked.changes)


def _confirm_page(
    cycle: AssessmentCycle, scope: Scope, changes: list[submissions.Change], problem: str = ""
) -> str:
    return render_template(
        "pages/cycle_confirm.html",
        cycle=cycle,
        scope=scope,
        title=submissions.scope_title(get_session(), scope),
        changes=[change.line() for change in changes],
        late=cycle.status != CycleStatus.OPEN,
        problem=problem,
        csrf=csrf_token(),
    )


@blueprint.post("/<id:cycle_id>/scores/<scope_name>/confirm")
@login_required
def confirm_workbook(cycle_id: int, scope_name: str) -> Any:
    check_csrf()
    found = _scope_or_error(cycle_id, scope_name)
    if not isinstance(found, tuple) or not isinstance(found[0], AssessmentCycle):
        return found
    cycle, scope = found
    pending = session.get(PENDING) or {}
    if pending.get("cycle") != cycle.id or pending.get("scope") != scope.name:
        return error_page(400, "没有待确认的评分表，请重新上传。")
    db = get_session()
    if not submissions.may_upload(db, g.person, cycle, scope):
        return error_page(403, "只有本学院的管理员可以保存本学院的评分。")
    content = _store().read(pending["key"])
    late = access.is_office(g.person)
    checked = submissions.check_upload(db, cycle, scope, content, accept_late=late)
    if checked.problems:
        return _hub(cycle, scope, problems=checked.problems), 400
    now = datetime.now(UTC)
    if cycle.status != CycleStatus.OPEN:  # the office accepting a late college
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            return _confirm_page(cycle, scope, checked.changes, "请写明补录的原因。"), 400
        try:
            note = late_college.accept_late_college(
                db, cycle, scope, checked.changes, reason=reason, actor=g.person, now=now,
                env=_env(),
            )  # fmt: skip
        except CycleError as exc:
            return error_page(409, str(exc))
        db.commit()
        session.pop(PENDING, None)
        return _hub(cycle, scope, notice=note)
    try:
        count = submissions.save_changes(db, cycle, scope, checked.changes, actor=g.person, now=now)
    except CycleError as exc:
        return error_page(409, str(exc))
    outbox.enqueue(
        db,
        [g.person.userid],
        submissions.saved_summary(
            submissions.scope_title(db, scope),
            checked.changes,
            messages.hub_url(
                current_app.extensions["settings"].PUBLIC_BASE_URL, cycle.id, scope.name
            ),
        ),
        key=f"cycle:{cycle.id}:saved:{scope.name}:{now.timestamp()}",
        now=now,
    )
    db.commit()
    session.pop(PENDING, None)
    return _hub(cycle, scope, notice=f"已保存 {count} 项评分。")


# --- results --------------------------------------------------------------------------------


def _published(cycle_id: int) -> AssessmentCycle | None:
    cycle = _cycle(cycle_id)
    if cycle is None or cycle.status == CycleStatus.OPEN:
        return None
    return cycle


@blueprint.get("/<id:cycle_id>/results.xlsx")
@login_required
def results(cycle_id: int) -> Any:
    cycle = _published(cycle_id)
    if cycle is None:
        return error_page(404, "考核结果还没有公示。")
    db = get_session()
    college = request.args.get("college", type=id_or_missing)
    unit = request.args.get("unit", type=id_or_missing)
    if college is not None:
        if not access.may_see_college(db, g.person, college):
            return error_page(403, "您只能查看本学院的考核结果。")
        content = export.results_workbook(db, cycle, lambda m: m.college.id == college)
    elif unit is not None:
        if not (access.is_office(g.person) or unit in access.headed_unit_ids(db, g.person)):
            return error_page(403, "您只能查看本单位导师的考核结果。")
        content = export.results_workbook(
            db, cycle, lambda m: m.unit is not None and m.unit.id == unit
        )
    else:
        if not oversight.may_read_results(g.person):
            return error_page(403, "全校考核结果只对书院部、人力资源处和教务处开放。")
        content = export.results_workbook(db, cycle)
    return xlsx_response(f"{cycle.year.code}-考核结果.xlsx", content)


@blueprint.get("/<id:cycle_id>/me")
@login_required
def my_result(cycle_id: int) -> Any:
    cycle = _published(cycle_id)
    if cycle is None:
        return error_page(404, "考核结果还没有公示。")
    found = current(get_session(), cycle)
    if not found.has(g.person.id):
        return error_page(403, "您不在本次考核的导师名单中。")
    result = found.of(g.person.id)
    db = get_session()
    rubric = rubric_of(cycle)
    evidence = figures(db, cycle.year, rubric, _env().zone, [g.person.id])
    lines = result_detail.item_lines(
        rubric,
        result_detail.item_scores(found, rubric, g.person.id),
        evidence.get(g.person.id),
        result,
    )
    return render_template(
        "pages/cycle_result.html",
        cycle=cycle,
        result=result,
        lines=lines,
        fmt=fmt,
        satisfaction_shown=messages.satisfaction_shown,
        until=publication.objections_until_text(cycle, _env().zone),
    )


@blueprint.get("/<id:cycle_id>/export/<name>.xlsx")
@login_required
def exports(cycle_id: int, name: str) -> Any:
    cycle = _cycle(cycle_id)
    if cycle is None or cycle.status != CycleStatus.CLOSED:
        return error_page(404, "考核结束后才能导出。")
    if not access.is_office(g.person):
        return error_page(403, "导出只对书院部开放。")
    db = get_session()
    builders = {
        "outstanding": ("优秀导师名单", lambda: export.outstanding_workbook(db, cycle)),
        "history": ("导师历年考核记录", lambda: export.history_workbook(db)),
        "results": ("全部考核结果", lambda: export.results_workbook(db, cycle)),
    }
    if name not in builders:
        return error_page(404, "没有这种导出。")
    title, build = builders[name]
    return xlsx_response(f"{cycle.year.code}-{title}.xlsx", build())


@blueprint.get("/summary/<id:evidence_id>")
@login_required
def summary(evidence_id: int) -> Any:
    db = get_session()
    evidence = db.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.purpose != "annual_summary" or not evidence.storage_key:
        return error_page(404, "没有这份年度工作总结。")
    colleges = set(
        db.scalars(
            sa.select(MentorAssignment.college_id).where(
                MentorAssignment.mentor_id == evidence.owner_id
            )
        )
    )
    allowed = (
        evidence.owner_id == g.person.id
        or access.is_office(g.person)
        or bool(colleges & access.admin_college_ids(g.person))
    )
    if not allowed:
        return error_page(403, "您没有查看这份总结的权限。")
    # the type comes from the stored key's checked extension: older rows kept the uploader's
    name = evidence.filename or "年度工作总结"
    return download_response(name, _store().read(evidence.storage_key), _type(evidence))


def _type(evidence: EvidenceFile) -> str:
    return content_type_of(evidence.storage_key or "")


# --- self-assessment ------------------------------------------------------------------------


def _self_context(cycle: AssessmentCycle) -> tuple[list[Any], dict[str, str], dict[str, Any]]:
    db = get_session()
    rubric = rubric_of(cycle)
    items = [i for i in rubric.items if rubric.role_of(i.id) in ("college", "academy", "bonus")]
    evidence = figures(
        db, cycle.year, rubric, _env().zone, [g.person.id], now=datetime.now(UTC)
    ).get(g.person.id)
    text = {}
    for item in items:
        if evidence is not None and item.id in rubric.evidence:
            found = evidence.item(item.id)
            text[item.id] = "；".join(r.summary for r in found.requirements)
    saved = {}
    for (mentor, item, _source), s in saved_scores(db, cycle, ScoreSource.SELF).items():
        if mentor == g.person.id:
            saved[item] = fmt(Decimal(s.tenths) / 10)
            if s.note:
                saved[f"{item}_note"] = s.note
    return items, text, saved


@blueprint.route("/<id:cycle_id>/self", methods=["GET", "POST"])
@login_required
def self_assessment(cycle_id: int) -> Any:
    cycle = _cycle(cycle_id)
    if cycle is None:
        return error_page(404, "没有这次考核。")
    db = get_session()
    if not any(m.person.id == g.person.id for m in members(db, cycle)):
        return error_page(403, "您不在本次考核的导师名单中。")
    items, text, saved = _self_context(cycle)
    rubric = rubric_of(cycle)
    bonus = {item.id for item in items if rubric.role_of(item.id) == "bonus"}
    problems: list[str] = []
    done = False
    if request.method == "POST":
        check_csrf()
        if cycle.status != CycleStatus.OPEN:
            return error_page(409, "考核已公示或结束，不能再修改自评。")
        values: dict[str, Decimal] = {}
        notes: dict[str, str] = {}
        for item in items:
            raw = request.form.get(item.id, "").strip()
            if item.id in bonus:  # achieved or not (是/否), and optional: left empty is 否
                achieved = _achieved(raw, item.max)
                note = request.form.get(f"{item.id}_note", "").strip()
                if achieved is None:
                    problems.append(f"{item.id}：请选择“是”或“否”")
                    continue
                if achieved and not note:
                    problems.append(f"{item.id}：选“是”时请写明竞赛或论文名称")
                    continue
                if len(note) > NOTE_MAX:
                    problems.append(f"{item.id}：竞赛或论文名称不能超过 {NOTE_MAX} 个字")
                    continue
                values[item.id] = item.max if achieved else Decimal(0)
                if achieved:
                    notes[item.id] = note
                continue
            if not raw:
                problems.append(f"{item.id}：请填写自评分")
                continue
            value = parse_number(raw)
            if value is None:  # NaN, Infinity and huge exponents too
                problems.append(f"{item.id}：“{echo(raw)}”不是数字")
                continue
            if not Decimal(0) <= value <= item.max or value != value.quantize(Decimal("0.1")):
                problems.append(f"{item.id}：须在 0–{fmt(item.max)} 之间，最多一位小数")
                continue
            values[item.id] = value
        if not problems:
            _save_self(cycle, values, notes)
            db.commit()
            done = True
            items, text, saved = _self_context(cycle)
        else:
            keys = [i.id for i in items] + [f"{i}_note" for i in bonus]
            saved = {k: request.form.get(k, "") for k in keys}
    return render_template(
        "pages/cycle_self.html",
        cycle=cycle,
        items=items,
        text=text,
        saved=saved,
        bonus=bonus,
        achieved={i.id for i in items if i.id in bonus and _achieved(saved.get(i.id, ""), i.max)},
        fmt=fmt,
        problems=problems,
        done=done,
        csrf=csrf_token(),
        upload_url="/m/upload?purpose=annual_summary",
    ), (400 if problems else 200)


YES = {"yes", "是", "有"}
NO = {"no", "否", "无", "没有", ""}


def _achieved(raw: str, most: Decimal) -> bool | None:
    """A bonus item's answer (E1, E2): True for 是 (or its full score), False for 否 (or 0, or
    nothing), None for anything else."""
    raw = str(raw).strip()
    if raw in YES or raw in NO:
        return raw in YES
    value = parse_number(raw)
    if value in (Decimal(0), most):
        return value == most
    return None


def _save_self(cycle: AssessmentCycle, values: dict[str, Decimal], notes: dict[str, str]) -> None:
    db = get_session()
    now = datetime.now(UTC)
    person: Person = g.person
    current = {
        s.item: s
        for s in db.scalars(
            sa.select(ItemScore).where(
                ItemScore.cycle_id == cycle.id,
                ItemScore.mentor_id == person.id,
                ItemScore.source == ScoreSource.SELF,
            )
        )
    }
    for item, value in values.items():
        tenths = int(value * 10)
        score = current.get(item)
        if score is None:
            db.add(
                ItemScore(
                    cycle_id=cycle.id, mentor_id=person.id, item=item, source=ScoreSource.SELF,
                    tenths=tenths, given_by_id=person.id, given_at=now, note=notes.get(item),
                )
            )  # fmt: skip
        else:
            score.tenths, score.given_at, score.note = tenths, now, notes.get(item)
    if not progress.has_self_assessed(db, cycle, person.id):
        db.add(
            Submission(
                cycle_id=cycle.id, step="self", subject_id=person.id,
                submitted_by_id=person.id, submitted_at=now,
            )
        )  # fmt: skip
    cycles.audit(
        db, actor=person, action="self_assess", entity="assessment_cycle", entity_id=cycle.id,
        now=now, after={item: int(v * 10) for item, v in values.items()} | notes,
    )  # fmt: skip
