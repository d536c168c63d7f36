"""Which assessment items each kind of record evidences, and the regulation's activity types."""

from __future__ import annotations

from bot.models import RecordKind

KIND_ITEMS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.CONTACT: ("M1", "M7"),
    RecordKind.GROUP_ACTIVITY: ("M2",),
    RecordKind.COUNSELLOR_TALK: ("M3",),
    RecordKind.LEADER_TALK: ("M3",),
    RecordKind.SEMESTER_PLAN: ("B4",),
    RecordKind.MONTHLY_PLAN: ("B4",),
    RecordKind.MONTHLY_SUMMARY: ("B4",),
    RecordKind.PUBLICITY: ("M6",),
    RecordKind.CARE: ("B5",),
    RecordKind.ACADEMY_BOOKING: ("A1",),
    RecordKind.EXTERNAL_RESOURCE: ("A3",),
    RecordKind.MONTHLY_GUIDANCE: ("M1",),
}

# The regulation's list of offline group activities (M2), and the further item each one
# evidences. Longer words first so that 读书分享会 is not read as 分享会.
ACTIVITY_TYPES: dict[str, tuple[str, ...]] = {
    "读书沙龙": ("M5",),
    "读书分享": ("M5",),
    "读书会": ("M5",),
    "传记阅读": ("M5",),
    "领军人物": ("M5",),
    "运动打卡": (),
    "共进午餐": (),
    "聚餐": (),
    "共餐": (),
    "实地调研": (),
    "调研": (),
    "主题活动": (),
    "茶话会": (),
    "茶话": (),
    "志愿服务": ("M8",),
    "志愿": ("M8",),
    "联谊": (),
    "聚会": (),
    "艺术实践": (),
    "观影": (),
    "影评": (),
    "兴趣辅导": ("M4",),
    "学术讲座": ("M4",),
    "小讲座": ("M4",),
    "讲座": ("M4",),
    "研讨会": ("M4",),
    "研讨": ("M4",),
    "学科竞赛": ("M4",),
    "生涯规划": ("M7",),
    "职业规划": ("M7",),
    "简历": ("M7",),
    "考研": ("M7",),
    "考公": ("M7",),
    "面试": ("M7",),
    "完满教育": ("M8",),
    "书院项目": ("M8", "A1"),
    "书院活动": ("A1",),
    "社区活动": ("A1",),
    "沙龙": (),
}

OTHER_ACTIVITY = "其他"


def activity_type(title: str) -> str:
    """The regulation's activity type named in ``title`` (读书沙龙…), else 其他."""
    for word in sorted(ACTIVITY_TYPES, key=len, reverse=True):
        if word in title:
            return word
    return OTHER_ACTIVITY


def items_for(kind: RecordKind, activity: str | None = None) -> list[str]:
    """The assessment items a record evidences, in rubric order, without repeats."""
    items = list(KIND_ITEMS[kind])
    if kind == RecordKind.GROUP_ACTIVITY and activity:
        items.extend(ACTIVITY_TYPES.get(activity, ()))
    return sorted(set(items), key=_item_order)


def _item_order(item: str) -> tuple[int, int]:
    return ("BMAES".index(item[0]), int(item[1:]))
