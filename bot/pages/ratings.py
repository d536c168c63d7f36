"""The academy office's ratings audit export as a download: ``/m/ratings/<year>.xlsx``.

The chat command 导出评价 links here. After WeCom sign-in only the academy office gets the
workbook (every rating with its student, see ``bot.ratings.export``); each download is one
audit entry naming the office person, a refused attempt is audited too and builds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g

from bot.core.db import get_session
from bot.cycle import access
from bot.pages.auth import error_page, login_required
from bot.pages.files import xlsx_response
from bot.ratings import export

blueprint = Blueprint("ratings", __name__, url_prefix="/m/ratings")

REFUSED = "学生评价导出只对书院部开放。"
NOT_FOUND = "没有这个学年的评价记录。学年写作 2025-2026，请从机器人发来的链接打开。"


@blueprint.get("/<year_code>.xlsx")
@login_required
def download_ratings(year_code: str) -> Any:
    now = datetime.now(UTC)
    session = get_session()
    if not access.is_office(g.person):
        export.audit_refused(session, actor=g.person, year_code=year_code, now=now)
        session.commit()
        return error_page(403, REFUSED)
    year = export.find_year(session, year_code)
    if year is None:
        return error_page(404, NOT_FOUND)
    settings = current_app.extensions["settings"]
    content, count = export.ratings_workbook(session, settings.zone, year.code)
    name = export.download_name(year.code)
    export.audit_export(
        session, actor=g.person, year_code=year.code, count=count, now=now, file=name
    )
    session.commit()
    return xlsx_response(name, content)
