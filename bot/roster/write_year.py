"""Writing what a roster says about one academic year: the calendar (semesters and their
teaching weeks, replaced only when the dates changed) and the assignments (which mentor a
college assesses, and each student's mentor). A student no longer assigned loses the link; a
mentor no longer assigned loses the assignment unless they already have records that year
(kept, and counted in the summary). ``ensure_year`` creates a missing academic year.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    Record,
    Semester,
    TeachingWeek,
)
from bot.roster.calendar import parse_year_code, teaching_weeks
from bot.roster.entries import Roster
from bot.roster.import_summary import ADDED, UNCHANGED, UPDATED, ImportSummary
from bot.roster.stored import chunks, ids


def ensure_year(session: so.Session, code: str) -> int:
    """The id of the academic year ``code``, created (1 Sep – 31 Aug) if missing."""
    year_id = session.scalar(sa.select(AcademicYear.id).where(AcademicYear.code == code))
    if year_id is not None:
        return year_id
    bounds = parse_year_code(code)
    assert bounds is not None, code
    year = AcademicYear(code=code, starts_on=bounds[0], ends_on=bounds[1])
    session.add(year)
    session.flush()
    return year.id


def apply_calendar(session: so.Session, roster: Roster, summary: ImportSummary) -> None:
    counts = summary.sheets["calendar"]
    for entry in sorted(roster.semesters, key=lambda s: (s.year, s.number)):
        year_id = ensure_year(session, entry.year)
        weeks = teaching_weeks(entry.starts_on, entry.ends_on, entry.holidays)
        wanted = {(week.number, week.starts_on, week.ends_on) for week in weeks}
        semester = session.scalar(
            sa.select(Semester).where(Semester.year_id == year_id, Semester.number == entry.number)
        )
        if semester is None:
            semester = Semester(
                year_id=year_id,
                number=entry.number,
                starts_on=entry.starts_on,
                ends_on=entry.ends_on,
            )
            session.add(semester)
            session.flush()
            counts.add(ADDED)
        else:
            have = {
                tuple(row)
                for row in session.execute(
                    sa.select(
                        TeachingWeek.number, TeachingWeek.starts_on, TeachingWeek.ends_on
                    ).where(TeachingWeek.semester_id == semester.id)
                )
            }
            same_dates = (semester.starts_on, semester.ends_on) == (entry.starts_on, entry.ends_on)
            if same_dates and have == wanted:
                counts.add(UNCHANGED)
                continue
            semester.starts_on, semester.ends_on = entry.starts_on, entry.ends_on
            session.execute(sa.delete(TeachingWeek).where(TeachingWeek.semester_id == semester.id))
            counts.add(UPDATED)
        session.execute(
            sa.insert(TeachingWeek),
            [
                {
                    "semester_id": semester.id,
                    "number": week.number,
                    "starts_on": week.starts_on,
                    "ends_on": week.ends_on,
                }
                for week in weeks
            ],
        )
        session.flush()


# --- assignments ------------------------------------------------------------------------------


def apply_assignments(
    session: so.Session,
    roster: Roster,
    year: str,
    person_ids: dict[str, int],
    unit_ids: dict[str, int],
    summary: ImportSummary,
) -> None:
    counts = summary.sheets["assignments"]
    if not roster.assignments:
        summary.assignments_untouched = True
        return
    year_id = ensure_year(session, year)
    current: dict[int, tuple[int, int]] = {
        row.mentor_id: (row.id, row.college_id)
        for row in session.execute(
            sa.select(
                MentorAssignment.id, MentorAssignment.mentor_id, MentorAssignment.college_id
            ).where(MentorAssignment.year_id == year_id)
        )
    }
    links: dict[int, tuple[int, int]] = {
        row.student_id: (row.id, row.assignment_id)
        for row in session.execute(
            sa.select(
                MentorStudent.id, MentorStudent.student_id, MentorStudent.assignment_id
            ).where(MentorStudent.year_id == year_id)
        )
    }

    colleges: dict[int, int] = {}
    for entry in roster.assignments:
        colleges[person_ids[entry.mentor]] = unit_ids[entry.college]
    new = [
        {"year_id": year_id, "mentor_id": mentor_id, "college_id": college_id}
        for mentor_id, college_id in colleges.items()
        if mentor_id not in current
    ]
    moved_college = {
        mentor_id
        for mentor_id, college_id in colleges.items()
        if mentor_id in current and current[mentor_id][1] != college_id
    }
    if moved_college:
        session.execute(
            sa.update(MentorAssignment),
            [{"id": current[m][0], "college_id": colleges[m]} for m in moved_college],
        )
    if new:
        session.execute(sa.insert(MentorAssignment), new)
    assignment_ids = ids(
        session,
        MentorAssignment.mentor_id,
        MentorAssignment.id,
        MentorAssignment.year_id == year_id,
    )

    inserts, moves, wanted = [], [], set()
    for entry in roster.assignments:
        mentor_id, student_id = person_ids[entry.mentor], person_ids[entry.student]
        assignment_id = assignment_ids[mentor_id]
        wanted.add(student_id)
        link = links.get(student_id)
        if link is None:
            inserts.append(
                {"assignment_id": assignment_id, "year_id": year_id, "student_id": student_id}
            )
            counts.add(ADDED)
        elif link[1] != assignment_id:
            moves.append({"id": link[0], "assignment_id": assignment_id})
            counts.add(UPDATED)
        else:
            counts.add(UPDATED if mentor_id in moved_college else UNCHANGED)
    gone = [link_id for student_id, (link_id, _) in links.items() if student_id not in wanted]
    for chunk in chunks(gone):
        session.execute(sa.delete(MentorStudent).where(MentorStudent.id.in_(chunk)))
    if moves:
        session.execute(sa.update(MentorStudent), moves)
    for chunk in chunks(inserts, 5000):
        session.execute(sa.insert(MentorStudent), chunk)
    summary.links_removed = len(gone)

    dropped = [mentor_id for mentor_id in current if mentor_id not in colleges]
    if dropped:
        with_records: set[int] = set()
        for chunk in chunks(dropped):
            with_records.update(
                session.scalars(
                    sa.select(Record.mentor_id)
                    .where(Record.year_id == year_id, Record.mentor_id.in_(chunk))
                    .distinct()
                )
            )
        removable = [current[m][0] for m in dropped if m not in with_records]
        for chunk in chunks(removable):
            session.execute(sa.delete(MentorAssignment).where(MentorAssignment.id.in_(chunk)))
        summary.assignments_removed = len(removable)
        summary.assignments_kept = len(dropped) - len(removable)
