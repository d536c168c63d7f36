"""The care-record page: the only place a care note (关爱记录) is decrypted and shown.

The chat answers 查看 on a care record with a link here; after WeCom sign-in the page checks
the reader as ``read_care_note`` does (the mentor who wrote it, the assessing college's
administrators, the academy office), writes one audit entry per view (refusals too), and
answers ``Cache-Control: no-store`` so no browser or proxy keeps a copy. The note is never
logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g, make_response, render_template

from bot.core.db import get_session
from bot.core.models import RECORD_KIND_NAMES, Record, RecordKind
from bot.core.rubrics import items_counted
from bot.pages.auth import error_page, login_required
from bot.records.care import CareNoteRefused, read_care_note
from bot.records.dates import format_moment

blueprint = Blueprint("care", __name__, url_prefix="/m/care")

NOT_FOUND = "没有这条关爱记录，或它已被删除。请从机器人发来的链接打开。"
REFUSED = "您无权查看这条关爱记录。关爱记录仅记录的导师、其考核学院的管理员和书院部可以查看。"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _private(body: Any, status: int = 200) -> Any:
    response = make_response(body, status)
    response.headers.update(PRIVATE_HEADERS)
    return response


@blueprint.get("/<id:record_id>")
@login_required
def show_care_record(record_id: int) -> Any:
    now = datetime.now(UTC)
    session = get_session()
    record = session.get(Record, record_id)
    if record is None or record.deleted_at is not None or record.kind != RecordKind.CARE:
        return _private(*error_page(404, NOT_FOUND))
    settings = current_app.extensions["settings"]
    try:
        note = read_care_note(session, g.person, record, key=settings.CARE_NOTES_KEY, now=now)
    except CareNoteRefused:
        session.commit()  # the refused attempt stays in the audit log
        return _private(*error_page(403, REFUSED))
    session.commit()
    moment = record.occurred_at.astimezone(settings.zone)
    return _private(
        render_template(
            "pages/care_record.html",
            kind=RECORD_KIND_NAMES[record.kind],
            items="、".join(items_counted(session, record)),
            mentor=record.mentor.name,
            students="、".join(p.student.name for p in record.participants) or "无",
            when=f"{moment.year}年{format_moment(moment)}",
            note=note,
        )
    )
