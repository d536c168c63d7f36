"""The rating page, ``/m/rate/<record>``: the rating card for people who cannot see it.

People who read WeCom through WeChat (微信插件) see no template cards, so the roster marks them
and they get a textcard linking here instead (everyone does with ``RATING_CHANNEL=page``).
After WeCom sign-in the page offers the card's six answers; a submission goes through the same
rule as a tap (:func:`bot.ratings.taps.record_tap`: participants only, within the window, once,
not after the year's results are fixed), is stored like a tap (so it is in the office's audit
export) and writes one audit entry naming the channel, not the answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, render_template, request

from bot.core.audit import audit
from bot.core.db import get_session
from bot.core.models import RatingRequest, RatingRequestStatus, Record
from bot.pages.auth import check_csrf, csrf_token, error_page, login_required
from bot.ratings import rules, taps
from bot.ratings.cards import REFUSALS, answered_text, describe, when_text
from bot.ratings.rules import CHOICES, DID_NOT_ATTEND, TapOutcome

blueprint = Blueprint("rate", __name__, url_prefix="/m/rate")

NOT_YOURS = "只有参加这项活动并收到评价邀请的同学才能评价"
ORDER = [choice for choice in CHOICES if choice != DID_NOT_ATTEND] + [DID_NOT_ATTEND]


def _request(record_id: int) -> tuple[Record, RatingRequest] | None:
    session = get_session()
    found = session.execute(
        sa.select(Record, RatingRequest)
        .join(RatingRequest, RatingRequest.record_id == Record.id)
        .where(
            Record.id == record_id,
            Record.deleted_at.is_(None),
            RatingRequest.student_id == g.person.id,
        )
    ).first()
    return None if found is None else (found[0], found[1])


@blueprint.get("/<id:record_id>")
@login_required
def show_rating(record_id: int) -> Any:
    found = _request(record_id)
    if found is None:
        return error_page(404, NOT_YOURS + "。请从机器人发来的链接打开。", title="无法评价")
    record, asked = found
    policy = rules.policy_from(current_app.extensions["settings"])
    heading, fields, ask = describe(
        record.kind, record.mentor.name, record.title, record.occurred_at, policy.zone
    )
    now = datetime.now(UTC)
    state = "open"
    if asked.status == RatingRequestStatus.ANSWERED:
        state = "answered"
    elif asked.status == RatingRequestStatus.LAPSED or asked.expires_at <= now:
        state = "closed"
    return render_template(
        "pages/rate.html",
        heading=heading,
        fields=fields,
        ask=ask,
        deadline=when_text(asked.expires_at, policy.zone),
        state=state,
        choices=[(choice, CHOICES[choice]) for choice in ORDER],
        record_id=record.id,
        csrf=csrf_token(),
    )


@blueprint.post("/<id:record_id>")
@login_required
def submit_rating(record_id: int) -> Any:
    check_csrf()
    choice = rules.parse_choice(request.form.get("choice", ""))
    if choice is None:
        return error_page(400, REFUSALS[TapOutcome.INVALID], title="无法评价")
    now = datetime.now(UTC)
    session = get_session()
    result = taps.record_tap(
        session,
        student=g.person,
        record_id=record_id,
        choice=choice,
        now=now,
        policy=rules.policy_from(current_app.extensions["settings"]),
    )
    if result.outcome != TapOutcome.RECORDED:
        session.rollback()
        return error_page(409, REFUSALS[result.outcome].replace("点选", "提交"), title="未记录")
    audit(
        session, actor=g.person, action="rate_page", entity="record", entity_id=record_id,
        now=now, after={"channel": "page"},
    )  # fmt: skip
    session.commit()
    return render_template("pages/message.html", title="已评价", message=answered_text(choice))
