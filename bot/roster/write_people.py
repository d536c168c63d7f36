"""Writing a validated roster's units and people: units added or renamed (two names may swap),
people inserted or updated in bulk (a WeCom userid may pass from one person to another in the
same file), people the file no longer names marked inactive (never deleted), each person's
roles made exactly what the file gives them, and the units' heads set once the people exist.
Each function records in the :class:`ImportSummary` (or the status maps) what it changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from bot.core.models import Person, PersonKind, Role, RoleGrant, Unit
from bot.roster.entries import PersonEntry, Roster
from bot.roster.import_summary import ADDED, UNCHANGED, UPDATED, ImportSummary
from bot.roster.stored import Stored, chunks, ids


def apply_units(session: so.Session, roster: Roster, state: Stored) -> dict[str, str]:
    status: dict[str, str] = {}
    new, changed, renamed = [], [], []
    for unit in roster.units:
        current = state.units.get(unit.code)
        if current is None:
            new.append({"code": unit.code, "name": unit.name, "kind": unit.kind})
            status[unit.code] = ADDED
        elif (current.name, current.kind) != (unit.name, unit.kind):
            changed.append({"id": current.id, "name": unit.name, "kind": unit.kind})
            if current.name != unit.name:
                renamed.append({"id": current.id, "name": f"~{current.id}"})
            status[unit.code] = UPDATED
        else:
            status[unit.code] = UNCHANGED
    if renamed:  # two steps, so that two units may swap names
        session.execute(sa.update(Unit), renamed)
    if changed:
        session.execute(sa.update(Unit), changed)
    if new:
        session.execute(sa.insert(Unit), new)
    return status


def apply_heads(
    session: so.Session,
    roster: Roster,
    state: Stored,
    unit_ids: dict[str, int],
    person_ids: dict[str, int],
    status: dict[str, str],
) -> None:
    changed = []
    for unit in roster.units:
        head_id = person_ids[unit.head] if unit.head else None
        current = state.units.get(unit.code)
        if (current.head_id if current else None) != head_id:
            changed.append({"id": unit_ids[unit.code], "head_id": head_id})
            if status[unit.code] == UNCHANGED:
                status[unit.code] = UPDATED
    if changed:
        session.execute(sa.update(Unit), changed)


# --- people -----------------------------------------------------------------------------------


def _desired(
    entry: PersonEntry, unit_ids: dict[str, int], person_ids: dict[str, int]
) -> dict[str, Any]:
    return {
        "userid": entry.userid,
        "name": entry.name,
        "kind": entry.kind,
        "unit_id": unit_ids[entry.unit] if entry.unit else None,
        "major": entry.major,
        "grade": entry.grade,
        "counsellor_id": person_ids.get(entry.counsellor) if entry.counsellor else None,
        "active": True,
        "wechat_plugin": entry.wechat_plugin,
    }


def apply_people(
    session: so.Session,
    roster: Roster,
    state: Stored,
    unit_ids: dict[str, int],
    summary: ImportSummary,
) -> tuple[dict[str, str], dict[str, int]]:
    status: dict[str, str] = {}
    existing, new_staff, new_students = [], [], []
    for entry in roster.people.values():
        if entry.number in state.persons:
            existing.append(entry)
        elif entry.kind == PersonKind.STAFF:
            new_staff.append(entry)
        else:
            new_students.append(entry)

    # A userid may pass from one person to another in the same file: park the changing ones.
    parked = [
        {"id": state.persons[e.number].id, "userid": f"~{state.persons[e.number].id}"}
        for e in existing
        if state.persons[e.number].userid != e.userid
    ]
    if parked:
        session.execute(sa.update(Person), parked)

    person_ids = {number: row.id for number, row in state.persons.items()}
    if new_staff:
        _insert_people(session, new_staff, unit_ids, person_ids)
        person_ids.update(ids(session, Person.number, Person.id, Person.kind == PersonKind.STAFF))

    updates = []
    for entry in existing:
        current = state.persons[entry.number]
        desired = _desired(entry, unit_ids, person_ids)
        if any(getattr(current, name) != value for name, value in desired.items()):
            updates.append({"id": current.id, **desired})
            status[entry.number] = UPDATED
        else:
            status[entry.number] = UNCHANGED
    if updates:
        session.execute(sa.update(Person), updates)

    if new_students:
        _insert_people(session, new_students, unit_ids, person_ids)
        person_ids.update(ids(session, Person.number, Person.id))
    for entry in (*new_staff, *new_students):
        status[entry.number] = ADDED

    absent = [
        {"id": row.id, "active": False}
        for number, row in state.persons.items()
        if row.active and number not in roster.people
    ]
    if absent:
        session.execute(sa.update(Person), absent)
    summary.deactivated = len(absent)
    return status, person_ids


def _insert_people(
    session: so.Session,
    entries: Iterable[PersonEntry],
    unit_ids: dict[str, int],
    person_ids: dict[str, int],
) -> None:
    rows = [{"number": entry.number, **_desired(entry, unit_ids, person_ids)} for entry in entries]
    for chunk in chunks(rows, 5000):
        session.execute(sa.insert(Person), chunk)


def apply_roles(
    session: so.Session,
    roster: Roster,
    person_ids: dict[str, int],
    unit_ids: dict[str, int],
    status: dict[str, str],
    summary: ImportSummary,
) -> None:
    have: dict[int, dict[tuple[Role, int | None], int]] = {}
    for row in session.execute(
        sa.select(RoleGrant.id, RoleGrant.person_id, RoleGrant.role, RoleGrant.unit_id)
    ):
        have.setdefault(row.person_id, {})[(row.role, row.unit_id)] = row.id
    added, removed = [], []
    for entry in roster.people.values():
        person_id = person_ids[entry.number]
        want = {(role, unit_ids[code] if code else None) for role, code in entry.roles}
        current = have.get(person_id, {})
        new = want - current.keys()
        gone = current.keys() - want
        added.extend({"person_id": person_id, "role": role, "unit_id": unit} for role, unit in new)
        removed.extend(current[key] for key in gone)
        if (new or gone) and status[entry.number] == UNCHANGED:
            status[entry.number] = UPDATED
    for chunk in chunks(removed):
        session.execute(sa.delete(RoleGrant).where(RoleGrant.id.in_(chunk)))
    for chunk in chunks(added, 5000):
        session.execute(sa.insert(RoleGrant), chunk)
    summary.roles_added, summary.roles_removed = len(added), len(removed)
