"""What every step of an assessment cycle shares: its steps and deadlines, the error it
raises, the environment of a request, the audit log, and finding the cycle and its colleges.
``now`` is passed in; nothing in bot/cycle reads a clock."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
import structlog

from bot.core.audit import audit as audit  # the cycle's modules write it from here
from bot.core.models import (
    AcademicYear,
    AssessmentCycle,
    Unit,
)
from bot.core.storage import FileStore
from bot.cycle.results import members

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


def find_cycle(session: so.Session, year_code: str | None = None) -> AssessmentCycle | None:
    """The cycle of ``year_code``, else the most recently opened one."""
    query = sa.select(AssessmentCycle).join(AcademicYear)
    if year_code:
        query = query.where(AcademicYear.code == year_code)
    return session.scalar(query.order_by(AssessmentCycle.opened_at.desc()).limit(1))


def require_cycle(session: so.Session, year_code: str | None = None) -> AssessmentCycle:
    cycle = find_cycle(session, year_code)
    if cycle is None:
        raise CycleError(
            "还没有开启的考核。书院部管理员发送“开启考核”加已结束的学年即可开启，"
            "发送“帮助”可看到可用的示例。"
        )
    return cycle


def colleges(session: so.Session, cycle: AssessmentCycle) -> list[Unit]:
    """Colleges assessing at least one mentor in the cycle's year."""
    seen: dict[int, Unit] = {}
    for member in members(session, cycle):
        seen.setdefault(member.college.id, member.college)
    return list(seen.values())
