"""The roster workbook's sheets and columns, as data.

Each sheet and column has an English key (used in code) and a Chinese title (the sheet name
and header cell in the workbook). The reader accepts either as a header; the writer and the
template use the Chinese one. ``docs/roster.md`` carries the tables rendered from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import Role, UnitKind


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    format: str  # a key of FORMATS
    example: str
    meaning: str  # Chinese
    english: str


@dataclass(frozen=True)
class SheetSpec:
    key: str
    title: str
    english: str
    meaning: str
    columns: tuple[Column, ...]
    required: bool = True

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def header(self, key: str) -> str:
        return self.column(key).header


# format key → (Chinese description, English description)
FORMATS: dict[str, tuple[str, str]] = {
    "unit_code": ("字母、数字、_ 或 -，最长 32 位", "letters, digits, _ or -, up to 32"),
    "number": ("字母和数字，最长 32 位", "letters and digits, up to 32"),
    "person_name": ("1–50 个字", "1-50 characters"),
    "unit_name": ("1–100 个字", "1-100 characters"),
    "userid": (
        "字母、数字和 _-@.，以字母或数字开头，最长 64 位（企业微信 UserID）",
        "WeCom UserID: letters, digits and _-@., starting with a letter or digit, up to 64",
    ),
    "unit_kind": (
        "学院 / 书院部 / 其他单位",
        "one of 学院 (college), 书院部 (academy office), 其他单位",
    ),
    "admin_role": (
        "学院管理员 / 书院部管理员 / 学院负责人 / 单位负责人 / 系统管理员 / 人力资源处 / 教务处",
        "one of the seven administrative roles",
    ),
    "grade": ("四位入学年份，可带“级”", "four-digit year of entry, optionally followed by 级"),
    "text": ("最长 100 个字", "up to 100 characters"),
    "yes_no": ("是 / 否，可留空（= 否）", "是 (yes) or 否 (no); empty means no"),
    "year": ("YYYY-YYYY，后一年 = 前一年 + 1", "YYYY-YYYY, consecutive years"),
    "semester": ("1 或 2", "1 or 2"),
    "date": ("日期单元格或 2025-09-08", "a date cell or text like 2025-09-08"),
    "weeks": (
        "以逗号分隔的周次（第几周，从 1 起），可留空",
        "comma-separated week numbers (1 = the semester's first week), may be empty",
    ),
}

UNIT_KIND_LABELS: dict[str, UnitKind] = {
    "学院": UnitKind.COLLEGE,
    "书院部": UnitKind.ACADEMY,
    "其他单位": UnitKind.OTHER,
}
UNIT_KIND_TITLES: dict[UnitKind, str] = {kind: label for label, kind in UNIT_KIND_LABELS.items()}

ADMIN_ROLE_LABELS: dict[str, Role] = {
    "学院管理员": Role.COLLEGE_ADMIN,
    "书院部管理员": Role.ACADEMY_ADMIN,
    "学院负责人": Role.COLLEGE_HEAD,
    "单位负责人": Role.UNIT_HEAD,
    "系统管理员": Role.SYSTEM_ADMIN,
    "人力资源处": Role.HR,
    "教务处": Role.ACADEMIC_AFFAIRS,
}
ADMIN_ROLE_TITLES: dict[Role, str] = {role: label for label, role in ADMIN_ROLE_LABELS.items()}


def _c(
    key: str,
    header: str,
    required: bool,
    fmt: str,
    example: str,
    meaning: str,
    english: str,
) -> Column:
    return Column(key, header, required, fmt, example, meaning, english)


UNITS = SheetSpec(
    "units",
    "单位",
    "units",
    "学院、书院部和导师所在的其他单位",
    (
        _c(
            "code", "单位代码", True, "unit_code", "CS", "单位的唯一代码，其他表引用它", "unit code"
        ),
        _c("name", "单位名称", True, "unit_name", "计算机与物联网学院", "单位全称", "unit name"),
        _c("kind", "单位类型", True, "unit_kind", "学院", "学院、书院部或其他单位", "unit kind"),
        _c(
            "head",
            "负责人工号",
            False,
            "number",
            "19960012",
            "单位负责人（学院院长等）；须出现在导师、辅导员或管理员表中。"
            "学院负责人获得“学院负责人”角色，其他单位获得“单位负责人”角色",
            "staff number of the unit's head",
        ),
    ),
)

MENTORS = SheetSpec(
    "mentors",
    "导师",
    "mentors",
    "异科导师",
    (
        _c(
            "number",
            "工号",
            True,
            "number",
            "19980001",
            "教职工工号（人员的唯一键）",
            "staff number",
        ),
        _c("name", "姓名", True, "person_name", "王建国", "姓名", "name"),
        _c(
            "userid",
            "企业微信账号",
            True,
            "userid",
            "wanglaoshi",
            "企业微信 UserID",
            "WeCom userid",
        ),
        _c(
            "unit",
            "所在单位代码",
            True,
            "unit_code",
            "ICE",
            "导师本人所在单位（单位表中的代码）",
            "home unit code",
        ),
    ),
)

STUDENTS = SheetSpec(
    "students",
    "学生",
    "students",
    "参加全生异科导师计划的学生",
    (
        _c(
            "number", "学号", True, "number", "2024010001", "学号（人员的唯一键）", "student number"
        ),
        _c("name", "姓名", True, "person_name", "张三", "姓名", "name"),
        _c("userid", "企业微信账号", True, "userid", "zhangsan", "企业微信 UserID", "WeCom userid"),
        _c(
            "college",
            "学院代码",
            True,
            "unit_code",
            "CS",
            "学生所在学院（类型须为“学院”）",
            "college code",
        ),
        _c("major", "专业", False, "text", "软件工程", "专业名称", "major"),
        _c("grade", "年级", True, "grade", "2024", "入学年份", "grade (year of entry)"),
        _c(
            "counsellor",
            "辅导员工号",
            False,
            "number",
            "20150003",
            "学生的辅导员（须在辅导员表中）",
            "counsellor's staff number",
        ),
        _c(
            "wechat_plugin",
            "微信插件",
            False,
            "yes_no",
            "否",
            "在微信中通过“微信插件”使用企业微信的填“是”：看不到模板卡片，评价改为发送评价页面链接",
            "reads WeCom through WeChat (微信插件): gets a link to the rating page, not a card",
        ),
    ),
)

COUNSELLORS = SheetSpec(
    "counsellors",
    "辅导员",
    "counsellors",
    "学生的辅导员",
    (
        _c("number", "工号", True, "number", "20150003", "教职工工号", "staff number"),
        _c("name", "姓名", True, "person_name", "陈静", "姓名", "name"),
        _c("userid", "企业微信账号", True, "userid", "chenjing", "企业微信 UserID", "WeCom userid"),
        _c(
            "college",
            "学院代码",
            True,
            "unit_code",
            "CS",
            "所在学院（类型须为“学院”）",
            "college code",
        ),
    ),
)

ADMINS = SheetSpec(
    "admins",
    "管理员",
    "administrators",
    "学院管理员、书院部管理员、学院负责人、单位负责人、系统管理员、人力资源处、教务处；"
    "一人多个角色写多行",
    (
        _c("number", "工号", True, "number", "20080021", "教职工工号", "staff number"),
        _c("name", "姓名", True, "person_name", "周敏", "姓名", "name"),
        _c("userid", "企业微信账号", True, "userid", "cs_admin", "企业微信 UserID", "WeCom userid"),
        _c("role", "角色", True, "admin_role", "学院管理员", "管理角色", "role"),
        _c(
            "unit",
            "单位代码",
            False,
            "unit_code",
            "CS",
            "角色所属单位；学院管理员、学院负责人须为学院，书院部管理员须为书院部，"
            "单位负责人须为非学院单位；人力资源处、教务处须为其他单位或留空；系统管理员可留空",
            "unit the role applies to",
        ),
    ),
)

ASSIGNMENTS = SheetSpec(
    "assignments",
    "分配",
    "assignments",
    "本学年的导师—学生分配：每行一名学生；同一导师各行的考核学院须一致。"
    "表中有数据时，它就是该学年的完整分配",
    (
        _c("mentor", "导师工号", True, "number", "19980001", "导师（须在导师表中）", "mentor"),
        _c(
            "college",
            "考核学院代码",
            True,
            "unit_code",
            "CS",
            "考核该导师的学院（即所带学生的学院），不能是导师本人所在单位",
            "assessing college",
        ),
        _c("student", "学号", True, "number", "2024010001", "学生（须在学生表中）", "student"),
    ),
)

CALENDAR = SheetSpec(
    "calendar",
    "校历",
    "calendar",
    "学年、学期和教学周；教学周 = 从开始日期所在周（周一起）到结束日期的各周，减去非教学周",
    (
        _c("year", "学年", True, "year", "2025-2026", "学年（9月1日至次年8月31日）", "year"),
        _c("semester", "学期", True, "semester", "1", "第几学期", "semester"),
        _c("starts", "开始日期", True, "date", "2025-09-08", "学期第一天", "first day"),
        _c("ends", "结束日期", True, "date", "2026-01-16", "学期最后一天", "last day"),
        _c(
            "holidays",
            "非教学周",
            False,
            "weeks",
            "4",
            "不上课的周次，如国庆节所在周",
            "weeks that are not teaching weeks",
        ),
    ),
    required=False,
)

SHEETS: tuple[SheetSpec, ...] = (
    UNITS,
    MENTORS,
    STUDENTS,
    COUNSELLORS,
    ADMINS,
    ASSIGNMENTS,
    CALENDAR,
)
SHEETS_BY_KEY: dict[str, SheetSpec] = {sheet.key: sheet for sheet in SHEETS}


def render_markdown() -> str:
    """The column tables of ``docs/roster.md``, rendered from the definitions above."""
    parts: list[str] = []
    for sheet in SHEETS:
        need = "必需" if sheet.required else "可选"
        parts.append(f"### {sheet.title} ({sheet.english}) — 工作表{need}\n")
        parts.append(f"{sheet.meaning}\n")
        parts.append(
            "| 列 header | key | 必填 required | 格式 format | 示例 example | 含义 meaning |"
        )
        parts.append("| --- | --- | --- | --- | --- | --- |")
        for column in sheet.columns:
            chinese, english = FORMATS[column.format]
            required = "是 yes" if column.required else "否 no"
            parts.append(
                f"| {column.header} | `{column.key}` | {required} | {chinese}<br>{english} "
                f"| `{column.example}` | {column.meaning}<br>{column.english} |"
            )
        parts.append("")
    return "\n".join(parts)
