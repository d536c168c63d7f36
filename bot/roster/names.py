"""Plausible Chinese names, pinyin userids and a catalogue of colleges and units
(for the generator and the demo university)."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Common surnames, most frequent first (weights fall off with the position).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAME_WEIGHTS = [1 / (rank + 8) for rank in range(len(SURNAMES))]

GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林东晨阳博文志建国峰海亮成"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀燕玲桂丹萍红琳洁雪颖倩婷慧晶欣怡琪佳悦梦瑶璐雨涵蕾薇思月彤珊"
GIVEN_ANY = "子一天嘉诗雅可心安欣博浩梓睿然佳宇晨晓雨铭泽"


@dataclass(frozen=True)
class CollegeInfo:
    code: str
    name: str
    majors: tuple[str, ...]


COLLEGES: tuple[CollegeInfo, ...] = (
    CollegeInfo(
        "CS",
        "计算机与物联网学院",
        ("软件工程", "计算机科学与技术", "物联网工程", "数据科学与大数据技术"),
    ),
    CollegeInfo(
        "ICE",
        "通信与信息工程学院",
        ("通信工程", "电子信息工程", "光电信息科学与工程", "微电子科学与工程"),
    ),
    CollegeInfo("DE", "数字经济学院", ("数字经济", "电子商务", "金融科技", "国际经济与贸易")),
    CollegeInfo("IM", "智能制造学院", ("机械设计制造及其自动化", "智能制造工程", "机器人工程")),
    CollegeInfo("EA", "电气与自动化学院", ("电气工程及其自动化", "自动化", "新能源科学与工程")),
    CollegeInfo("AD", "艺术与设计学院", ("视觉传达设计", "数字媒体艺术", "环境设计", "产品设计")),
    CollegeInfo("FL", "外国语学院", ("英语", "日语", "商务英语", "翻译")),
    CollegeInfo("BA", "工商管理学院", ("工商管理", "市场营销", "人力资源管理", "物流管理")),
    CollegeInfo("AC", "会计学院", ("会计学", "财务管理", "审计学")),
    CollegeInfo("CE", "土木与建筑工程学院", ("土木工程", "建筑学", "工程管理", "工程造价")),
    CollegeInfo("HM", "人文与传媒学院", ("汉语言文学", "网络与新媒体", "广告学", "新闻学")),
    CollegeInfo("SC", "理学院", ("数学与应用数学", "应用物理学", "应用统计学")),
)

ACADEMY = ("SY", "书院部")

OTHER_UNITS: tuple[tuple[str, str], ...] = (
    ("LIB", "图书馆"),
    ("JWC", "教务处"),
    ("XGB", "学生工作部"),
    ("KYC", "科学技术处"),
    ("RSC", "人事处"),
    ("XXZX", "信息化建设与管理中心"),
    ("TW", "校团委"),
    ("ZJC", "招生就业处"),
    ("GJC", "国际交流与合作处"),
    ("MKS", "马克思主义教学部"),
)


class NameMaker:
    """Deterministic names for a given ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def name(self) -> str:
        rng = self.rng
        surname = rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]
        pool = GIVEN_MALE if rng.random() < 0.5 else GIVEN_FEMALE
        if rng.random() < 0.3:
            return surname + rng.choice(pool)
        first = rng.choice(pool + GIVEN_ANY)
        second = rng.choice(pool)
        while second == first:
            second = rng.choice(pool)
        return surname + first + second


def pinyin_userid(name: str, taken: set[str]) -> str:
    """``王建国`` → ``wangjianguo`` (``wangjianguo2`` … when taken); adds it to ``taken``."""
    from pypinyin import lazy_pinyin  # 0.2 s to import: only when names are made

    base = "".join(lazy_pinyin(name)).lower().replace("ü", "v")
    base = "".join(ch for ch in base if ch.isascii() and ch.isalnum()) or "user"
    userid, n = base, 1
    while userid in taken:
        n += 1
        userid = f"{base}{n}"
    taken.add(userid)
    return userid
