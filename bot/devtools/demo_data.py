"""Seeding the demo university (``flask --app bot demo seed``): the people of
:mod:`bot.devtools.demo_roster` go through the roster importer (the same code path as a
workbook); the records of :mod:`bot.devtools.demo_records` are planned for the whole year and
only those that exist by ``now`` are written, with their participants and ratings, so seeding
again (later) adds what is missing and changes nothing else. The fixed WeCom userids the docs
and the simulator mention are listed in :mod:`bot.devtools.demo_roster`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask.cli import AppGroup

from bot.core.db import Database, get_database
from bot.core.models import (
    AcademicYear,
    Person,
    Rating,
    Record,
    RecordParticipant,
    Unit,
    UnitKind,
)
from bot.devtools.demo_records import PlannedRecord, plan_records
from bot.devtools.demo_roster import DEMO_YEAR, demo_roster_records
from bot.roster.calendar import year_code_for
from bot.roster.import_summary import ImportSummary
from bot.roster.importer import import_roster
from bot.roster.stored import fixed_years
from bot.roster.workbook import RawRoster

# --- seeding ------------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    roster: ImportSummary
    colleges: int
    mentors: int
    students: int
    counsellors: int
    admins: int
    records: int
    records_added: int
    participants_added: int
    ratings: int
    ratings_added: int

    def __str__(self) -> str:
        return (
            f"{self.colleges} 个学院、{self.mentors} 位导师、{self.students} 名学生、"
            f"{self.counsellors} 位辅导员、{self.admins} 位管理员；"
            f"工作记录 {self.records} 条（本次新增 {self.records_added}），"
            f"学生评价 {self.ratings} 条（本次新增 {self.ratings_added}）"
        )


def seed_demo(
    database: Database,
    *,
    now: datetime,
    seed: int = 2025,
    year: str = DEMO_YEAR,
    zone: ZoneInfo | None = None,
) -> DemoSummary:
    """Seed (idempotently) the demo university and its records up to ``now``. ``zone``
    defaults to the app's time zone (needs an app context)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if zone is None:
        from bot import get_settings

        zone = get_settings().zone
    rows = demo_roster_records(seed=seed, year=year)
    with database.session() as session:
        if year in fixed_years(session):  # published or closed: its roster is read-only, kept
            roster = ImportSummary(year)
        else:
            roster = import_roster(
                session, RawRoster.from_records(rows), year=year, today=now.astimezone(zone).date()
            )
        plan = plan_records(rows, year=year, zone=zone, seed=seed)
        added = _write_records(session, plan, year=year, now=now)
        year_id = session.scalar(sa.select(AcademicYear.id).where(AcademicYear.code == year))
        admins = {row["number"] for row in rows["admins"]}
        return DemoSummary(
            roster=roster,
            colleges=session.scalar(
                sa.select(sa.func.count()).select_from(Unit).where(Unit.kind == UnitKind.COLLEGE)
            )
            or 0,
            mentors=len(rows["mentors"]),
            students=len(rows["students"]),
            counsellors=len(rows["counsellors"]),
            admins=len(admins),
            records=session.scalar(
                sa.select(sa.func.count()).select_from(Record).where(Record.year_id == year_id)
            )
            or 0,
            records_added=added[0],
            participants_added=added[1],
            ratings=session.scalar(
                sa.select(sa.func.count())
                .select_from(Rating)
                .join(Record, Rating.record_id == Record.id)
                .where(Record.year_id == year_id)
            )
            or 0,
            ratings_added=added[2],
        )


def _write_records(
    session: so.Session, plan: list[PlannedRecord], *, year: str, now: datetime
) -> tuple[int, int, int]:
    """Insert the planned records (and their participants and ratings) that exist by ``now``
    and are not there yet; return how many records, participants and ratings were added."""
    year_id = session.scalar(sa.select(AcademicYear.id).where(AcademicYear.code == year))
    numbers = {p.mentor for p in plan} | {s for p in plan for s in p.participants}
    person_ids = {
        row.number: row.id
        for row in session.execute(
            sa.select(Person.number, Person.id).where(Person.number.in_(numbers))
        )
    }
    mentor_ids = sorted({person_ids[p.mentor] for p in plan})

    def existing() -> dict[tuple[Any, ...], int]:
        return {
            (row.mentor_id, row.kind, row.occurred_at, row.title): row.id
            for row in session.execute(
                sa.select(
                    Record.id, Record.mentor_id, Record.kind, Record.occurred_at, Record.title
                ).where(Record.year_id == year_id, Record.mentor_id.in_(mentor_ids))
            )
        }

    def key(record: PlannedRecord) -> tuple[Any, ...]:
        return (person_ids[record.mentor], record.kind, record.occurred_at, record.title)

    due = [record for record in plan if record.created_at <= now]
    have = existing()
    new_rows = []
    for record in due:
        if key(record) in have:
            continue
        created = record.created_at
        new_rows.append(
            {
                "year_id": year_id,
                "mentor_id": person_ids[record.mentor],
                "kind": record.kind,
                "activity_type": record.activity_type,
                "title": record.title,
                "occurred_at": record.occurred_at,
                "ends_at": record.ends_at,
                "place": record.place,
                "online": record.online,
                "note": record.note,
                "sensitive_note": None,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            }
        )
    if new_rows:
        session.execute(sa.insert(Record), new_rows)
        have = existing()

    record_ids = [have[key(record)] for record in due]
    participants, ratings = set(), set()
    for chunk_start in range(0, len(record_ids), 500):
        chunk = record_ids[chunk_start : chunk_start + 500]
        participants.update(
            tuple(row)
            for row in session.execute(
                sa.select(RecordParticipant.record_id, RecordParticipant.student_id).where(
                    RecordParticipant.record_id.in_(chunk)
                )
            )
        )
        ratings.update(
            tuple(row)
            for row in session.execute(
                sa.select(Rating.record_id, Rating.student_id).where(Rating.record_id.in_(chunk))
            )
        )
    new_participants, new_ratings = [], []
    for record, record_id in zip(due, record_ids, strict=True):
        for student in record.participants:
            if (record_id, person_ids[student]) not in participants:
                new_participants.append({"record_id": record_id, "student_id": person_ids[student]})
        for student, level, when in record.ratings:
            if when <= now and (record_id, person_ids[student]) not in ratings:
                new_ratings.append(
                    {
                        "record_id": record_id,
                        "student_id": person_ids[student],
                        "level": level,
                        "attended": level is not None,
                        "created_at": when,
                    }
                )
    if new_participants:
        session.execute(sa.insert(RecordParticipant), new_participants)
    if new_ratings:
        session.execute(sa.insert(Rating), new_ratings)
    return len(new_rows), len(new_participants), len(new_ratings)


# --- command line -------------------------------------------------------------------------------

demo_cli = AppGroup("demo", help="演示数据。")


@demo_cli.command("seed")
@click.option("--year", default=None, help="学年（默认：当前学年，与 make demo 相同）")
@click.option("--now", "now_text", default=None, help="当前时间（ISO 格式，默认：现在）")
@click.option("--seed", default=2025, show_default=True, type=int)
def demo_seed(year: str | None, now_text: str | None, seed: int) -> None:
    """Seed the demo university and its records up to --now (idempotent)."""
    from bot import get_settings

    zone = get_settings().zone
    if now_text is None:
        now = datetime.now(zone)
    else:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter(
                f"“{now_text}”不是 ISO 格式的时间", param_hint="--now"
            ) from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=zone)
    year = year or year_code_for(now.astimezone(zone).date())
    summary = seed_demo(get_database(), now=now, seed=seed, year=year, zone=zone)
    click.echo(f"{year} 学年演示数据已就绪：{summary}")
