"""The demo university as roster rows: 3 colleges, the academy office, a few other units, 20
mentors, 300 students, counsellors, administrators, the 2025-2026 calendar and the
assignments, by sheet key, exactly what a roster workbook would hold. Deterministic from
``seed``; the same rows feed the importer (:mod:`bot.devtools.demo_data`), the example
workbook (``flask --app bot roster example``) and the tests.

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
``hr_admin``        钱进, 人力资源处 (told of results and corrections; the multi-year record)
(the head of 教务处 also holds the 教务处 role: told of results and corrections)
==================  ===========================================================
"""

from __future__ import annotations

import random
from typing import Any

from bot.roster.generate import calendar_rows, split
from bot.roster.names import COLLEGES, NameMaker, pinyin_userid

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
HR_ADMIN = ("20190051", "钱进", "hr_admin")
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
    fixed += [HR_ADMIN]
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
    rows["admins"].append(_person(HR_ADMIN, role="人力资源处", unit=None))
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
        if code == "JWC":
            rows["admins"].append(_person(head, role="教务处", unit=code))
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
