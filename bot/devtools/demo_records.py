"""A plausible year of records and ratings for the demo mentors, planned deterministically
from ``seed`` and independent of ``now``: each semester's plan, weekly individual contacts,
monthly plans and summaries, the month's guidance, publicity, two or three group activities
(their type read from the title with the rubric's words, as for a mentor's own entry), talks
with the counsellor and the college head, care records and a few bookings and outside
resources, with students' ratings of what they took part in. Which of them exist by ``now``
and are written is :mod:`bot.devtools.demo_data`'s part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.models import RecordKind
from bot.devtools.demo_roster import Rows
from bot.roster.calendar import standard_calendar, teaching_weeks
from scoring import load_rubric

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
                            activity_type=RUBRIC.record_type(RecordKind.CONTACT, topic),
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
