"""The in-app upload page: documents WeCom does not pass to apps (plans, summaries)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog
from flask import Blueprint, current_app, g, render_template, request

from bot.core.db import get_session
from bot.core.filenames import clean_filename, content_type_of
from bot.core.models import (
    AcademicYear,
    AuditEntry,
    EvidenceFile,
    EvidenceStatus,
    Record,
)
from bot.core.storage import StorageError, StoredFile, app_file_store
from bot.outbox import queue as outbox
from bot.outbox.queue import Message
from bot.pages.auth import check_csrf, csrf_token, error_page, login_required
from bot.records.dates import When
from bot.records.flow import FLOWS, OTHER_SPEC
from bot.records.uploads import MB, PURPOSES, Purpose

blueprint = Blueprint("upload", __name__, url_prefix="/m")
log = structlog.get_logger("bot.pages.upload")

# suffix → the bytes such a file starts with
DOCUMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".docx": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}


ALLOWED_NAMES = "PDF、Word（.docx/.doc）、JPG 或 PNG"
STORAGE_UNAVAILABLE = (
    "文件存储暂时无法使用，这次上传没有保存。请稍后重新上传；如果一直不成功，请联系书院部。"
)
DATABASE_UNAVAILABLE = (
    "系统暂时无法保存，这次上传没有保存。请稍后重新上传；如果一直不成功，请联系书院部。"
)


def check_document(filename: str, content: bytes, purpose: Purpose) -> str:
    """The file's suffix if it may be stored, else raise ValueError with the reason."""
    if not content:
        raise ValueError("文件是空的，请重新选择。")
    if len(content) > purpose.max_bytes:
        raise ValueError(f"文件太大：不能超过 {purpose.max_bytes // MB} MB。")
    suffix = PurePath(filename).suffix.lower()
    signatures = DOCUMENT_TYPES.get(suffix)
    if signatures is None:
        raise ValueError(f"不支持这种文件，请上传 {ALLOWED_NAMES}。")
    if not content.startswith(signatures):
        raise ValueError(f"文件内容与扩展名 {suffix} 不符，请上传 {ALLOWED_NAMES}。")
    return suffix


def month_choices(today: date, year: AcademicYear) -> list[tuple[str, str]]:
    """The months a monthly plan or summary may be for: this one (first, the default) back to
    the academic year's first month, as (``YYYY-MM``, label)."""
    months = []
    month = date(today.year, today.month, 1)
    first = date(year.starts_on.year, year.starts_on.month, 1)
    while month >= first:
        label = f"{month.year}年{month.month}月" + ("（本月）" if not months else "")
        months.append((f"{month:%Y-%m}", label))
        month = (month - timedelta(days=1)).replace(day=1)
    return months


def _is_monthly(purpose: Purpose) -> bool:
    kind = purpose.record_kind
    return kind is not None and "month" in FLOWS.get(kind, OTHER_SPEC).steps


def _year_of(session: so.Session, today: date) -> AcademicYear | None:
    return session.scalar(
        sa.select(AcademicYear).where(
            AcademicYear.starts_on <= today, AcademicYear.ends_on >= today
        )
    )


def _months(purpose: Purpose) -> list[tuple[str, str]]:
    """The month choice of the page (empty unless the purpose is monthly)."""
    if not _is_monthly(purpose):
        return []
    settings = current_app.extensions["settings"]
    today = datetime.now(UTC).astimezone(settings.zone).date()
    year = _year_of(get_session(), today)
    return [] if year is None else month_choices(today, year)


def _purpose_or_404() -> tuple[str, Purpose] | tuple[None, None]:
    name = request.values.get("purpose", "")
    return (name, PURPOSES[name]) if name in PURPOSES else (None, None)


def _allowed(purpose: Purpose) -> bool:
    return any(g.person.has_role(role) for role in purpose.roles)


def _render(name: str, purpose: Purpose, **extra: Any) -> str:
    return render_template(
        "pages/upload.html",
        purpose_name=name,
        purpose=purpose,
        csrf=csrf_token(),
        max_mb=purpose.max_bytes // MB,
        allowed=ALLOWED_NAMES,
        months=_months(purpose),
        chosen=request.values.get("month", ""),
        **extra,
    )


@blueprint.get("/upload")
@login_required
def show_upload() -> Any:
    name, purpose = _purpose_or_404()
    if purpose is None or name is None:
        return error_page(404, "没有这种材料。请从机器人发来的链接打开。")
    if not _allowed(purpose):
        return error_page(403, f"您没有上传“{purpose.title}”的权限。")
    return _render(name, purpose)


@blueprint.post("/upload")
@login_required
def receive_upload() -> Any:
    check_csrf()
    name, purpose = _purpose_or_404()
    if purpose is None or name is None:
        return error_page(404, "没有这种材料。请从机器人发来的链接打开。")
    if not _allowed(purpose):
        return error_page(403, f"您没有上传“{purpose.title}”的权限。")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(name, purpose, error="请选择要上传的文件。"), 400
    content = upload.read(purpose.max_bytes + 1)
    filename = clean_filename(upload.filename)
    try:
        suffix = check_document(filename, content, purpose)
    except ValueError as exc:
        status = 413 if len(content) > purpose.max_bytes else 400
        return _render(name, purpose, error=str(exc)), status
    now = datetime.now(UTC)
    settings = current_app.extensions["settings"]
    session = get_session()
    year = None
    if purpose.record_kind is not None:
        today = now.astimezone(settings.zone).date()
        year = _year_of(session, today)
        if year is None:
            return _render(name, purpose, error="当前学年尚未配置，请联系书院部。"), 409
    occurred_at, month_label = now, ""
    if year is not None and _is_monthly(purpose):
        months = dict(month_choices(now.astimezone(settings.zone).date(), year))
        chosen = request.form.get("month") or next(iter(months), "")  # default: this month
        if chosen not in months:
            return _render(name, purpose, error="请选择这份材料是哪个月的。"), 400
        occurred_at = _in_month(chosen, now, settings.zone)
        month_label = f"（{occurred_at.astimezone(settings.zone):%Y年%-m月}）"
    try:  # the file is stored first; if its rows do not commit, it is removed again
        with app_file_store(current_app).storing(content, suffix, now) as stored:
            evidence = _save(session, name, purpose, year, stored, filename, now, occurred_at)
            session.commit()
    except StorageError:  # logged by the store, without the content
        session.rollback()
        return _render(name, purpose, error=STORAGE_UNAVAILABLE), 503
    except sa.exc.SQLAlchemyError as exc:  # parameters are hidden: no names in the log
        session.rollback()
        log.warning("upload_not_saved", purpose=name, error=type(exc).__name__)
        return _render(name, purpose, error=DATABASE_UNAVAILABLE), 503
    return render_template(
        "pages/message.html",
        title="上传成功",
        message=f"已收到“{purpose.title}”{month_label}：{evidence.filename}。"
        "可以关闭本页面，返回企业微信。",
    )


def _in_month(month: str, now: datetime, zone: ZoneInfo) -> datetime:
    """When a monthly record for ``month`` (``YYYY-MM``) happened: now in this month, else
    the month's last day (as the record flow's month question does)."""
    first = date.fromisoformat(f"{month}-01")
    local = now.astimezone(zone)
    if (first.year, first.month) == (local.year, local.month):
        return now
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return When(last).moment(zone, now)


def _save(
    session: so.Session,
    name: str,
    purpose: Purpose,
    year: AcademicYear | None,
    stored: StoredFile,
    filename: str,
    now: datetime,
    occurred_at: datetime,
) -> EvidenceFile:
    """The rows of one stored upload: its record (plans, summaries), the evidence file with
    the type of its checked extension, the audit entry and the confirmation message."""
    record = None
    if purpose.record_kind is not None and year is not None:
        record = Record(
            year_id=year.id,
            mentor_id=g.person.id,
            kind=purpose.record_kind,
            title=purpose.title,
            occurred_at=occurred_at,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
    evidence = EvidenceFile(
        owner_id=g.person.id,
        record_id=record.id if record else None,
        purpose=name,
        storage_key=stored.key,
        filename=filename,
        content_type=content_type_of(filename),
        size=stored.size,
        sha256=stored.sha256,
        status=EvidenceStatus.STORED,
        created_at=now,
    )
    session.add(evidence)
    session.flush()
    session.add(
        AuditEntry(
            at=now,
            actor_id=g.person.id,
            action="upload",
            entity="evidence_file",
            entity_id=str(evidence.id),
            after={"purpose": name, "sha256": stored.sha256, "size": stored.size},
        )
    )
    outbox.enqueue(
        session,
        [g.person.userid],
        Message.text(
            f"已收到您上传的“{purpose.title}”：{evidence.filename}（{_size(stored.size)}）。"
        ),
        key=f"upload:{evidence.id}",
        now=now,
    )
    return evidence


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{max(1, size // 1024)} KB"
