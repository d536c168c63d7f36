"""Rating cards close at their deadline: when a card's window ends, the card of everyone who
has not answered shows "已截止" instead of its buttons (:mod:`bot.outbox.card_closing`; only
cards sent within WeCom's 72 hours can be updated, older ones are left as they are)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Person, RatingRequest, RatingRequestStatus
from bot.outbox.card_closing import RESPONSE_CODE_LIFETIME, close_cards


def card_key(record_id: int, userid: str) -> str:
    """The outbox key of the rating card of ``record_id`` sent to ``userid``."""
    return f"rating:{record_id}:{userid}"


def close_ended_cards(session: so.Session, now: datetime) -> int:
    """Queue "已截止" for each unanswered card whose window has ended (recently enough for
    WeCom to accept the update). Returns how many cards are updated."""
    rows = session.execute(
        sa.select(RatingRequest.record_id, Person.userid)
        .join(Person, Person.id == RatingRequest.student_id)
        .where(
            RatingRequest.status != RatingRequestStatus.ANSWERED,
            RatingRequest.sent_at.is_not(None),
            RatingRequest.sent_at >= now - RESPONSE_CODE_LIFETIME,
            RatingRequest.expires_at <= now,
        )
    ).all()
    keys = [card_key(record_id, userid) for record_id, userid in rows]
    return close_cards(session, keys, now=now)
