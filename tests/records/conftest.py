"""A small university for record journeys: the academic year around today, a college, two
mentors with their own students, a student, a college admin and the academy office."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bot.core.models import (
    AcademicYear,
    MentorAssignment,
    MentorStudent,
    OutboxMessage,
    Role,
    Semester,
    Unit,
    UnitKind,
)
from tests.factories import WeComCaller, add_person

_times = itertools.count(int(time.time()))


def year_around(today: date) -> tuple[str, date, date]:
    start_year = today.year if today.month >= 9 else today.year - 1
    return f"{start_year}-{start_year + 1}", date(start_year, 9, 1), date(start_year + 1, 8, 31)


@dataclass
class World:
    year_id: int
    college_id: int
    mentor: str  # 王老师: 张三, 李四, 周松, 王五 ×2
    other_mentor: str  # 刘老师: 赵六
    student: str
    college_admin: str
    other_admin: str  # admin of another college
    academy_admin: str
    ids: dict[str, int]


@pytest.fixture
def world(database) -> World:
    return build_world(database)


def build_world(database) -> World:
    today = datetime.now(UTC).date()
    code, starts, ends = year_around(today)
    with database.session() as session:
        year = AcademicYear(code=code, starts_on=starts, ends_on=ends)
        year.semesters = [
            Semester(number=1, starts_on=starts, ends_on=date(starts.year + 1, 1, 31)),
            Semester(number=2, starts_on=date(starts.year + 1, 2, 1), ends_on=ends),
        ]
        college = Unit(code="CS", name="计算机与物联网学院", kind=UnitKind.COLLEGE)
        other_college = Unit(code="DE", name="数字经济学院", kind=UnitKind.COLLEGE)
        session.add_all([year, college, other_college])
        session.flush()
        mentor = add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
        other = add_person(session, "liulaoshi", "刘老师", Role.MENTOR)
        students = {
            "zhangsan": add_person(session, "zhangsan", "张三", Role.STUDENT),
            "lisi": add_person(session, "lisi", "李四", Role.STUDENT),
            "zhousong": add_person(session, "zhousong", "周松", Role.STUDENT),
            "wangwu1": add_person(session, "wangwu1", "王五", Role.STUDENT),
            "wangwu2": add_person(session, "wangwu2", "王五", Role.STUDENT),
        }
        zhaoliu = add_person(session, "zhaoliu", "赵六", Role.STUDENT)
        admin = add_person(session, "cs_admin", "陈管理", Role.COLLEGE_ADMIN)
        admin.roles[0].unit_id = college.id
        other_admin = add_person(session, "de_admin", "杜管理", Role.COLLEGE_ADMIN)
        other_admin.roles[0].unit_id = other_college.id
        academy = add_person(session, "academy", "书院部老师", Role.ACADEMY_ADMIN)
        assignment = MentorAssignment(year_id=year.id, mentor_id=mentor.id, college_id=college.id)
        assignment.students = [
            MentorStudent(year_id=year.id, student_id=student.id) for student in students.values()
        ]
        other_assignment = MentorAssignment(
            year_id=year.id, mentor_id=other.id, college_id=college.id
        )
        other_assignment.students = [MentorStudent(year_id=year.id, student_id=zhaoliu.id)]
        session.add_all([assignment, other_assignment])
        session.flush()
        ids = {userid: person.id for userid, person in students.items()}
        ids.update(zhaoliu=zhaoliu.id, wanglaoshi=mentor.id, liulaoshi=other.id)
        return World(
            year_id=year.id,
            college_id=college.id,
            mentor=mentor.userid,
            other_mentor=other.userid,
            student="zhangsan",
            college_admin=admin.userid,
            other_admin=other_admin.userid,
            academy_admin=academy.userid,
            ids=ids,
        )


def add_students(database, world: World, count: int) -> None:
    with database.session() as session:
        assignment = session.scalar(
            sa.select(MentorAssignment).where(MentorAssignment.mentor_id == world.ids["wanglaoshi"])
        )
        for number in range(count):
            person = add_person(session, f"extra{number:02d}", f"学生{number:02d}", Role.STUDENT)
            assignment.students.append(MentorStudent(year_id=world.year_id, student_id=person.id))


class Phone(WeComCaller):
    """A WeCom user's phone: texts, menu taps, card taps; and what came back."""

    def __init__(self, app, client, database) -> None:
        super().__init__(app, client)
        self.database = database
        self.seen: dict[str, int] = {}

    def tap(self, userid: str, card: dict[str, Any], key: str, selected=()) -> None:
        xml = self.envelope(userid, next(_times)).card_tap(
            event_key=key,
            task_id=card["task_id"],
            card_type=card["card_type"],
            response_code=f"rc-{next(_times)}",
            selected=selected,
        )
        assert self.post_xml(xml).status_code == 200

    def menu(self, userid: str, key: str) -> None:
        assert (
            self.post_xml(self.envelope(userid, next(_times)).event("click", key)).status_code
            == 200
        )

    def photo(self, userid: str, media_id: str) -> None:
        xml = self.envelope(userid).image(media_id, "http://example.invalid/p.jpg", next(_times))
        assert self.post_xml(xml).status_code == 200

    def say(self, userid: str, text: str) -> None:
        assert self.text(userid, text).status_code == 200

    def new(self, userid: str) -> list[dict[str, Any]]:
        """Payloads sent to ``userid`` since the last call (card updates left out)."""
        with self.database.session() as session:
            rows = list(
                session.scalars(
                    sa.select(OutboxMessage)
                    .where(
                        OutboxMessage.userid == userid,
                        OutboxMessage.id > self.seen.get(userid, 0),
                    )
                    .order_by(OutboxMessage.id)
                )
            )
            if rows:
                self.seen[userid] = rows[-1].id
        return [row.payload for row in rows if row.msgtype != "update_template_card"]

    def last_text(self, userid: str) -> str:
        messages = self.new(userid)
        texts = [
            m[m["msgtype"]]["content"] for m in messages if m["msgtype"] in ("text", "markdown")
        ]
        assert texts, messages
        return texts[-1]

    def last_card(self, userid: str) -> dict[str, Any]:
        messages = self.new(userid)
        found = [m["template_card"] for m in messages if m["msgtype"] == "template_card"]
        assert found, messages
        return found[-1]


@pytest.fixture
def phone(app, client, database) -> Phone:
    return Phone(app, client, database)
