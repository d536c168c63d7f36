"""A large, realistic roster (``flask --app bot roster generate``), deterministic per seed.

8–12 colleges with their majors, the academy office, other units; deans, vice deans and
college administrators; one counsellor per ~200 students; mentors spread over the colleges in
proportion to their students, each assessed by a college other than the mentor's own unit;
some unit heads are also mentors (one person in two sheets). Students' userids are their
student numbers (common practice); staff userids are the pinyin of their names.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from bot.roster.calendar import standard_calendar
from bot.roster.names import ACADEMY, COLLEGES, OTHER_UNITS, NameMaker, pinyin_userid

Rows = dict[str, list[dict[str, Any]]]


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder), summing to total."""
    scale = sum(weights)
    exact = [total * weight / scale for weight in weights]
    counts = [math.floor(value) for value in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def calendar_rows(year: str) -> list[dict[str, Any]]:
    return [
        {
            "year": year,
            "semester": str(plan.number),
            "starts": plan.starts_on,
            "ends": plan.ends_on,
            "holidays": ",".join(map(str, plan.holidays)),
        }
        for plan in standard_calendar(year)
    ]


def generate_roster(*, students: int, mentors: int, seed: int = 1, year: str = "2025-2026") -> Rows:
    rng = random.Random(seed)
    names = NameMaker(rng)
    colleges = COLLEGES[: rng.randint(8, 12)]
    others = OTHER_UNITS[: rng.randint(6, len(OTHER_UNITS))]
    userids: set[str] = set()
    sequence = itertools.count(1)
    rows: Rows = {key: [] for key in ("units", "mentors", "students", "counsellors", "admins")}

    def staff() -> dict[str, str]:
        name = names.name()
        number = f"{rng.randint(1990, 2024)}{next(sequence):05d}"
        return {"number": number, "name": name, "userid": pinyin_userid(name, userids)}

    def admin(role: str, unit: str | None) -> dict[str, str]:
        person = staff()
        rows["admins"].append({**person, "role": role, "unit": unit})
        return person

    units: dict[str, dict[str, Any]] = {}
    for college in colleges:
        units[college.code] = {"code": college.code, "name": college.name, "kind": "学院"}
    units[ACADEMY[0]] = {"code": ACADEMY[0], "name": ACADEMY[1], "kind": "书院部"}
    for code, name in others:
        units[code] = {"code": code, "name": name, "kind": "其他单位"}

    for college in colleges:
        units[college.code]["head"] = admin("学院负责人", college.code)["number"]
        admin("学院负责人", college.code)
        for _ in range(2):
            admin("学院管理员", college.code)
    units[ACADEMY[0]]["head"] = admin("单位负责人", ACADEMY[0])["number"]
    for _ in range(3):
        admin("书院部管理员", ACADEMY[0])
    for _ in range(2):
        admin("系统管理员", None)

    # students and counsellors, college by college
    per_college = split(students, [rng.uniform(0.6, 1.4) for _ in colleges])
    grades = [str(int(year[:4]) - offset) for offset in range(3, -1, -1)]
    by_college: dict[str, list[str]] = {}
    for index, (college, count) in enumerate(zip(colleges, per_college, strict=True), start=1):
        counsellors = [staff() for _ in range(max(1, math.ceil(count / 200)))]
        for person in counsellors:
            rows["counsellors"].append({**person, "college": college.code})
        width = max(4, len(str(count)))
        numbers = []
        for position, grade_count in enumerate(split(count, [1.0] * len(grades))):
            for seq in range(1, grade_count + 1):
                number = f"{grades[position]}{index:02d}{seq:0{width}d}"
                numbers.append(number)
                counsellor = counsellors[len(numbers) * len(counsellors) // (count + 1)]
                rows["students"].append(
                    {
                        "number": number,
                        "name": names.name(),
                        "userid": number,
                        "college": college.code,
                        "major": rng.choice(college.majors),
                        "grade": grades[position],
                        "counsellor": counsellor["number"],
                    }
                )
        by_college[college.code] = numbers

    # mentors: assessed by a college (in proportion to its students), from another unit
    college_codes = [college.code for college in colleges]
    other_codes = [code for code, _ in others]
    assessing = split(mentors, [float(count) for count in per_college])
    mentors_of: dict[str, list[str]] = {}
    homes: dict[str, list[str]] = {}
    for college, count in zip(colleges, assessing, strict=True):
        for _ in range(count):
            person = staff()
            pool = college_codes if rng.random() < 0.55 else other_codes
            home = rng.choice([code for code in pool if code != college.code])
            rows["mentors"].append({**person, "unit": home})
            mentors_of.setdefault(college.code, []).append(person["number"])
            homes.setdefault(home, []).append(person["number"])

    for code, _name in others:
        candidates = homes.get(code, [])
        if candidates and rng.random() < 0.6:
            units[code]["head"] = rng.choice(candidates)  # a mentor who also heads the unit
        else:
            units[code]["head"] = admin("单位负责人", code)["number"]
    rows["units"] = list(units.values())

    assignments: list[dict[str, Any]] = []
    for college in colleges:
        numbers = list(by_college[college.code])
        team = mentors_of.get(college.code, [])
        if not team:
            continue
        rng.shuffle(numbers)
        for position, number in enumerate(numbers):
            mentor = team[position * len(team) // len(numbers)]
            assignments.append({"mentor": mentor, "college": college.code, "student": number})
    rows["assignments"] = assignments
    rows["calendar"] = calendar_rows(year)
    return rows
