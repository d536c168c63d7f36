"""第八条: the head of a mentor's own unit hears the mentor's result, whether the units sheet
names the head (``Unit.head``) or only the administrators sheet grants the 单位负责人 role."""

from __future__ import annotations

import sqlalchemy as sa

from bot.core.models import MentorAssignment, Person, Role, RoleGrant, Unit, UnitKind
from bot.roster.holders import unit_heads
from tests.cycle.test_cycle_order import open_confirmed
from tests.factories import add_person


def _texts(payloads) -> str:
    return "\n".join(p[p["msgtype"]]["content"] for p in payloads if p["msgtype"] == "markdown")


def test_unit_heads_named_only_by_the_role_get_the_push(app, database, demo, phone):
    with database.session() as session:
        # a mentor whose own unit is not a college; its sheet head removed, a deputy granted
        mentor, unit = session.execute(
            sa.select(Person, Unit)
            .join(Unit, Unit.id == Person.unit_id)
            .join(MentorAssignment, MentorAssignment.mentor_id == Person.id)
            .where(Unit.kind == UnitKind.OTHER, Unit.code != "LIB")
            .order_by(Person.number)
            .limit(1)
        ).one()
        role_head = session.scalar(
            sa.select(Person)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(RoleGrant.role == Role.UNIT_HEAD, RoleGrant.unit_id == unit.id)
        )
        assert role_head is not None and unit.head_id == role_head.id
        unit.head_id = None
        deputy = add_person(session, "deputy_head", "副处长")
        session.add(RoleGrant(person_id=deputy.id, role=Role.UNIT_HEAD, unit_id=unit.id))
        # the library's head is named only by the units sheet: the role grant removed
        library = session.scalar(sa.select(Unit).where(Unit.code == "LIB"))
        session.execute(
            sa.delete(RoleGrant).where(
                RoleGrant.role == Role.UNIT_HEAD, RoleGrant.unit_id == library.id
            )
        )
        session.commit()
        assert {p.userid for p in unit_heads(session, unit.id)} == {role_head.userid, "deputy_head"}
        assert [p.userid for p in unit_heads(session, library.id)] == ["liulaoshi"]
        head_userid, mentor_name, unit_name = role_head.userid, mentor.name, unit.name
    open_confirmed(phone)
    phone.new(head_userid)
    phone.new("deputy_head")
    phone.new("liulaoshi")
    phone.say("shuyuan_admin", "公示 强制")
    assert "已公示" in phone.last_text("shuyuan_admin")
    for userid in (head_userid, "deputy_head"):
        text = _texts(phone.new(userid))
        assert f"{unit_name}导师 2025-2026 学年考核结果（公示）" in text
        assert mentor_name in text
    assert "图书馆导师 2025-2026 学年考核结果（公示）" in _texts(phone.new("liulaoshi"))
    assert "学年考核结果" not in _texts(phone.new("zhangsan"))
