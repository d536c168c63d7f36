"""The demo university: 3 colleges, the academy office, a few other units, 20 mentors, 300
students, counsellors, administrators, the 2025-2026 calendar, assignments and one year of
plausible records and ratings.

The people go through the roster importer (the same code path as a workbook); the records are
planned deterministically from ``seed`` for the whole year and only those that exist by
``now`` are written, so seeding again (later) adds what is missing and changes nothing else.

Fixed WeCom userids that the docs and the simulator can mention:

==================  ===========================================================
``wanglaoshi``      王建国, mentor (home: 通信与信息工程学院, assessed by 计算机与物联网学院)
``zhaolaoshi``      赵敏, mentor (home: 数字经济学院) and college admin of 数字经济学院
``liulaoshi``       刘芳, mentor (home: 图书馆) and head of 图书馆
``zhangsan``        张三, student of 计算机与物联网学院, mentor wanglaoshi
``lisi``            李四, student of 计算机与物联网学院, mentor wanglaoshi
``chenjing``        陈静, counsellor of 计算机与物联网学院 (zhangsan's counsellor)
``cs_admin``        周敏, college admin of 计算机与物联网学院 (also ``ice_admin``, ``de_admin``)
``cs_dean``         郑国强, head of 计算机与物联网学院 (also ``ice_dean``, ``de_dean``)
``shuyuan_admin``   林晓雪, academy admin (书院部管理员)
``shuyuan_head``    黄海涛, head of 书院部
``sysadmin``        马骏, system admin
==================  ===========================================================
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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
    RecordKind,
    RecordParticipant,
    Unit,
    UnitKind,
)
from bot.roster.calendar import standard_calendar, teaching_weeks, year_code_for
from bot.roster.generate import calendar_rows, split
from bot.roster.importer import ImportSummary, fixed_years, import_roster
from bot.roster.names import COLLEGES, NameMaker, pinyin_userid
from bot.roster.workbook import RawRoster
from scoring import load_rubric

DEMO_YEAR = "2025-2026"
DEMO_COLLEGES = COLLEGES[:3]  # 计算机与物联网学院 CS, 通信与信息工程学院 ICE, 数字经济学院 DE
DEMO_OTHER_UNITS = (
    ("LIB", "图书馆"),
    ("JWC", "教务处"),
    ("XGB", "学生工作部"),
    ("MKS", "马克思主义教学部"),
)

# (number, name, userid)
WANG = ("19980001", "王建国", "wanglaoshi")
ZHAO = ("20100003", "赵敏", "zhaolaoshi")
LIU = ("20030002", "刘芳", "liulaoshi")
ZHANGSAN = ("2024010001", "张三", "zhangsan")
LISI = ("2024010002", "李四", "lisi")
CHENJING = ("20150101", "陈静", "chenjing")
COLLEGE_ADMINS = {
    "CS": ("20120011", "周敏", "cs_admin"),
    "ICE": ("20120012", "孙丽", "ice_admin"),
    "DE": ("20120013", "吴婷", "de_admin"),
}
DEANS = {
    "CS": ("19950021", "郑国强", "cs_dean"),
    "ICE": ("19960022", "冯志明", "ice_dean"),
    "DE": ("19970023", "许卫东", "de_dean"),
}
SHUYUAN_HEAD = ("19940031", "黄海涛", "shuyuan_head")
SHUYUAN_ADMINS = (("20150032", "林晓雪", "shuyuan_admin"), ("20160033", "何佳", "shuyuan_admin2"))
SYSADMIN = ("20180041", "马骏", "sysadmin")
# the fixed mentors: (person, assessing college, home unit)
FIXED_MENTORS = ((WANG, "CS", "ICE"), (ZHAO, "ICE", "DE"), (LIU, "DE", "LIB"))

Rows = dict[str, list[dict[str, Any]]]


def _person(who: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
    return {"number": who[0], "name": who[1], "userid": who[2], **extra}


def demo_roster_records(
    *, mentors: int = 20, students_per_mentor: int = 15, seed: int = 2025, year: str = DEMO_YEAR
) -> Rows:
    """The demo university as roster rows (by sheet key), ready for the importer or a workbook.
    ``mentors=4, students_per_mentor=3`` is ``examples/roster-example.xlsx``."""
    rng = random.Random(seed)
    names = NameMaker(rng)
    fixed = [WANG, ZHAO, LIU, ZHANGSAN, LISI, CHENJING, SHUYUAN_HEAD, SYSADMIN, *SHUYUAN_ADMINS]
    fixed += [*COLLEGE_ADMINS.values(), *DEANS.values()]
    userids = {who[2] for who in fixed}
    staff_numbers = iter(range(20200001, 20300000))

    def staff() -> tuple[str, str, str]:
        name = names.name()
        return (str(next(staff_numbers)), name, pinyin_userid(name, userids))

    rows: Rows = {key: [] for key in ("units", "mentors", "students", "counsellors", "admins")}
    units: dict[str, dict[str, Any]] = {}
    for college in DEMO_COLLEGES:
        units[college.code] = {
            "code": college.code,
            "name": college.name,
            "kind": "学院",
            "head": DEANS[college.code][0],
        }
        rows["admins"].append(_person(DEANS[college.code], role="学院负责人", unit=college.code))
        rows["admins"].append(
            _person(COLLEGE_ADMINS[college.code], role="学院管理员", unit=college.code)
        )
    units["SY"] = {"code": "SY", "name": "书院部", "kind": "书院部", "head": SHUYUAN_HEAD[0]}
    rows["admins"].append(_person(SHUYUAN_HEAD, role="单位负责人", unit="SY"))
    for who in SHUYUAN_ADMINS:
        rows["admins"].append(_person(who, role="书院部管理员", unit="SY"))
    rows["admins"].append(_person(SYSADMIN, role="系统管理员", unit=None))
    rows["admins"].append(_person(ZHAO, role="学院管理员", unit="DE"))
    for code, name in DEMO_OTHER_UNITS:
        units[code] = {"code": code, "name": name, "kind": "其他单位"}
    units["LIB"]["head"] = LIU[0]

    # mentors: 7 / 7 / 6 assessed by CS / ICE / DE (in proportion to 20), homes elsewhere
    per_college = split(mentors, [7.0, 7.0, 6.0])
    homes = [c.code for c in DEMO_COLLEGES] + [code for code, _ in DEMO_OTHER_UNITS]
    team: dict[str, list[str]] = {}
    for college, count in zip(DEMO_COLLEGES, per_college, strict=True):
        for position in range(count):
            fixed_mentor = next((m for m in FIXED_MENTORS if m[1] == college.code), None)
            if position == 0 and fixed_mentor is not None:
                who, home = fixed_mentor[0], fixed_mentor[2]
            else:
                who = staff()
                home = rng.choice([code for code in homes if code != college.code])
            rows["mentors"].append(_person(who, unit=home))
            team.setdefault(college.code, []).append(who[0])
    for code in ("JWC", "XGB", "MKS"):
        head = staff()
        units[code]["head"] = head[0]
        rows["admins"].append(_person(head, role="单位负责人", unit=code))
    rows["units"] = list(units.values())

    # students, counsellors, assignments
    assignments = []
    grades = [str(int(year[:4]) - offset) for offset in range(3, -1, -1)]
    for index, college in enumerate(DEMO_COLLEGES, start=1):
        counsellors = [CHENJING if college.code == "CS" else staff(), staff()]
        for who in counsellors:
            rows["counsellors"].append(_person(who, college=college.code))
        count = len(team.get(college.code, [])) * students_per_mentor
        numbers = []
        for position, grade_count in enumerate(split(count, [1.0] * len(grades))):
            grade = grades[position]
            for seq in range(1, grade_count + 1):
                number = f"{grade}{index:02d}{seq:04d}"
                who = {ZHANGSAN[0]: ZHANGSAN, LISI[0]: LISI}.get(number)
                if who is None:
                    name = names.name()
                    who = (number, name, pinyin_userid(name, userids))
                counsellor = counsellors[0 if position >= 2 else 1]  # juniors: the first
                rows["students"].append(
                    _person(
                        who,
                        college=college.code,
                        major=rng.choice(college.majors),
                        grade=grade,
                        counsellor=counsellor[0],
                    )
                )
                numbers.append(number)
        fixed_first = [n for n in numbers if n in (ZHANGSAN[0], LISI[0])]
        rest = [n for n in numbers if n not in fixed_first]
        rng.shuffle(rest)
        ordered = fixed_first + rest
        for position, number in enumerate(ordered):
            mentor = team[college.code][position // students_per_mentor]
            assignments.append({"mentor": mentor, "college": college.code, "student": number})
    rows["assignments"] = assignments
    rows["calendar"] = calendar_rows(year)
    return rows


# --- records ------------------------------------------------------------------------------------

# Group activities: the type is read from the title with the rubric's words, as for a
# mentor's own entry; the rubric says what each record evidences when it is read.
DEMO_ACTIVITIES = (
    "读书沙龙：《浪潮之巅》",
    "读书分享：《史蒂夫·乔布斯传》",
    "运动打卡：环校夜跑",
    "共餐：师生午餐会",
    "实地调研：走访本地科技企业",
    "茶话会：新学期畅谈",
    "志愿服务：社区数字助老",
    "观影：《社交网络》",
    "艺术实践：书法体验",
    "小讲座：人工智能入门",
    "研讨会：跨学科项目选题",
    "生涯规划：简历与面试工作坊",
    "书院活动：书院社区共建日",
)
PLACES = (
    "书院共享空间 A101",
    "图书馆研讨室 3",
    "学生活动中心 201",
    "书院咖啡角",
    "田径场",
    "学校二食堂",
)
CONTACT_TOPICS = (
    "课程学习",
    "学业规划",
    "竞赛准备",
    "生活适应",
    "简历修改",
    "考研咨询",
    "实习求职",
)
PUBLICITY_TITLES = ("活动新闻稿素材", "导师风采推文素材", "读书分享照片", "学生成长故事素材")
RUBRIC = load_rubric()  # the demo year has no cycle yet: the default rubric applies
CONTACT_TIMES = (time(12, 10), time(12, 30), time(16, 40), time(19, 0), time(19, 30), time(20, 0))


@dataclass
class PlannedRecord:
    mentor: str
    kind: RecordKind
    occurred_at: datetime
    title: str
    activity_type: str | None = None
    ends_at: datetime | None = None
    place: str | None = None
    online: bool | None = None
    note: str | None = None
    participants: list[str] = field(default_factory=list)
    ratings: list[tuple[str, int | None, datetime]] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        return (self.ends_at or self.occurred_at) + timedelta(hours=2)


def _level(rng: random.Random, quality: float) -> int:
    good = (1, 2, 7, 30, 60)
    fair = (3, 7, 20, 35, 35)
    weights = [q * quality + f * (1 - quality) for q, f in zip(good, fair, strict=True)]
    return rng.choices((1, 2, 3, 4, 5), weights=weights)[0]


def _rate(
    rng: random.Random, record: PlannedRecord, quality: float, share: float
) -> list[tuple[str, int | None, datetime]]:
    ratings: list[tuple[str, int | None, datetime]] = []
    for student in record.participants:
        if rng.random() >= share:
            continue
        when = record.created_at + timedelta(hours=rng.randint(1, 60))
        level = None if rng.random() < 0.03 else _level(rng, quality)  # None: did not attend
        ratings.append((student, level, when))
    return ratings


def plan_records(rows: Rows, *, year: str, zone: ZoneInfo, seed: int = 2025) -> list[PlannedRecord]:
    """A whole year of records for the demo mentors (independent of ``now``)."""
    rng = random.Random(seed * 7919 + 1)
    students_of: dict[str, list[str]] = {}
    college_of: dict[str, str] = {}
    for row in rows["assignments"]:
        students_of.setdefault(row["mentor"], []).append(row["student"])
        college_of[row["mentor"]] = row["college"]
    names = {row["number"]: row["name"] for key in rows for row in rows[key] if "number" in row}
    counsellor_of_college = {}
    for row in rows["counsellors"]:
        counsellor_of_college.setdefault(row["college"], row["name"])
    dean_of = {unit["code"]: names.get(unit.get("head") or "", "") for unit in rows["units"]}

    def at(day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=zone)

    plan: list[PlannedRecord] = []
    for mentor in sorted(students_of):
        students = students_of[mentor]
        quality = rng.uniform(0.4, 1.0)
        college = college_of[mentor]
        for semester in standard_calendar(year):
            weeks = teaching_weeks(semester.starts_on, semester.ends_on, set(semester.holidays))
            first = weeks[0].starts_on
            plan.append(
                PlannedRecord(
                    mentor,
                    RecordKind.SEMESTER_PLAN,
                    at(first + timedelta(days=rng.randint(0, 4)), time(10, 0)),
                    f"{year} 学年第{semester.number}学期导师工作计划",
                )
            )
            contacted: dict[tuple[int, int], set[str]] = {}
            for week in weeks:
                if rng.random() > 0.55 + 0.4 * quality:
                    continue
                for _ in range(rng.choice((2, 2, 2, 3))):
                    day = week.starts_on + timedelta(days=rng.randint(0, 4))
                    if day > week.ends_on:
                        day = week.ends_on
                    topic = rng.choice(CONTACT_TOPICS)
                    who = rng.sample(students, k=rng.choice((1, 1, 2, 3)))
                    online = rng.random() < 0.3
                    plan.append(
                        PlannedRecord(
                            mentor,
                            RecordKind.CONTACT,
                            at(day, rng.choice(CONTACT_TIMES)),
                            f"{topic}交流",
                            online=online,
                            place=None if online else "书院导师工作室",
                            note=f"围绕“{topic}”交流，约定后续跟进。",
                            participants=who,
                        )
                    )
                    contacted.setdefault((day.year, day.month), set()).update(who)
            # monthly plan and summary, and the month's guidance to be rated (S1)
            months = sorted({(w.starts_on.year, w.starts_on.month) for w in weeks})
            for y, m in months:
                in_month = [w for w in weeks if (w.starts_on.year, w.starts_on.month) == (y, m)]
                if len(in_month) < 2:
                    continue
                plan.append(
                    PlannedRecord(
                        mentor,
                        RecordKind.MONTHLY_PLAN,
                        at(in_month[0].starts_on, time(9, 30)),
                        f"{m}月工作计划",
                    )
                )
                last_day = in_month[-1].ends_on
                plan.append(
                    PlannedRecord(
                        mentor,
                        RecordKind.MONTHLY_SUMMARY,
                        at(last_day, time(17, 0)),
                        f"{m}月工作总结",
                    )
                )
                who = sorted(contacted.get((y, m), set()))
                if who:
                    guidance = PlannedRecord(
                        mentor,
                        RecordKind.MONTHLY_GUIDANCE,
                        at(last_day, time(20, 0)),
                        f"{m}月个别指导",
                        participants=who,
                    )
                    guidance.ratings = _rate(rng, guidance, quality, 0.6)
                    plan.append(guidance)
                for _ in range(rng.choice((1, 1, 2))):
                    day = rng.choice(in_month).starts_on + timedelta(days=rng.randint(0, 4))
                    plan.append(
                        PlannedRecord(
                            mentor,
                            RecordKind.PUBLICITY,
                            at(day, time(15, 0)),
                            rng.choice(PUBLICITY_TITLES),
                        )
                    )
            # group activities: 2–3 a semester, spread over the weeks
            middle = weeks[1:-2]
            for week in sorted(rng.sample(middle, k=rng.choice((2, 3, 3))), key=lambda w: w.number):
                label = rng.choice(DEMO_ACTIVITIES)
                kind = RUBRIC.activity_type(label)
                day = week.starts_on + timedelta(days=rng.choice((2, 3, 5)))
                start = at(day, rng.choice((time(14, 30), time(19, 0))))
                activity = PlannedRecord(
                    mentor,
                    RecordKind.GROUP_ACTIVITY,
                    start,
                    label,
                    activity_type=kind,
                    ends_at=start + timedelta(hours=2),
                    place=rng.choice(PLACES),
                    online=False,
                    note="学生参与积极，现场交流热烈。",
                    participants=rng.sample(students, k=min(len(students), rng.randint(6, 15))),
                )
                activity.ratings = _rate(rng, activity, quality, 0.75)
                plan.append(activity)
            # talks with the counsellor and the college head
            talk_day = weeks[min(len(weeks) - 1, rng.randint(4, 7))].starts_on
            plan.append(
                PlannedRecord(
                    mentor,
                    RecordKind.COUNSELLOR_TALK,
                    at(talk_day + timedelta(days=rng.randint(0, 4)), time(15, 30)),
                    f"与辅导员{counsellor_of_college.get(college, '')}沟通学生情况",
                    place="学院辅导员办公室",
                    online=False,
                )
            )
            talk_day = weeks[min(len(weeks) - 1, rng.randint(9, 13))].starts_on
            plan.append(
                PlannedRecord(
                    mentor,
                    RecordKind.LEADER_TALK,
                    at(talk_day + timedelta(days=rng.randint(0, 4)), time(10, 30)),
                    f"与{dean_of.get(college, '')}院长交流导师工作",
                    place="学院会议室",
                    online=False,
                )
            )
            for _ in range(rng.choice((1, 1, 2))):
                day = rng.choice(weeks).starts_on + timedelta(days=rng.randint(0, 4))
                plan.append(
                    PlannedRecord(
                        mentor,
                        RecordKind.CARE,
                        at(day, time(21, 0)),
                        "关爱记录",
                        participants=[rng.choice(students)],
                    )
                )
            if rng.random() < 0.6:
                day = rng.choice(middle).starts_on + timedelta(days=5)
                plan.append(
                    PlannedRecord(
                        mentor,
                        RecordKind.ACADEMY_BOOKING,
                        at(day, time(14, 0)),
                        "预约书院共享空间开展交流",
                        place="书院共享空间 A101",
                        online=False,
                    )
                )
            if rng.random() < 0.3:
                day = rng.choice(middle).starts_on + timedelta(days=rng.randint(0, 4))
                plan.append(
                    PlannedRecord(
                        mentor,
                        RecordKind.EXTERNAL_RESOURCE,
                        at(day, time(16, 0)),
                        "引入合作企业工程师开展分享",
                    )
                )
    unique: dict[tuple[Any, ...], PlannedRecord] = {}
    for record in plan:
        unique.setdefault((record.mentor, record.kind, record.occurred_at, record.title), record)
    return list(unique.values())


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
