"""记录 / 我的记录: a mentor's own records of the year, newest first and numbered as shown;
查看 and 修改 them until the year's assessment cycle closes (删除 and 恢复:
``handlers.record_delete``). Every change is audited. A care note is never put in
a chat message (a push stays in the outbox table and in backups): 查看 answers a care record's
readers with its non-sensitive details and a card linking to the in-app page that shows the note
(``bot.pages.care``, where each view is audited)."""

from __future__ import annotations

import re
from typing import Any

from bot.chat.context import Context, Reply
from bot.chat.router import Router, for_roles
from bot.core.echo import echo
from bot.core.inputs import parse_id, parse_whole
from bot.core.models import RECORD_KIND_NAMES, Record, RecordKind, Role
from bot.core.rubrics import items_counted
from bot.ratings.rules import RATED_KINDS
from bot.records.care import audit_read, care_page_url, may_read
from bot.records.dates import (
    DateError,
    When,
    check_moment,
    check_time,
    format_day,
    format_moment,
    parse_time,
    parse_when,
)
from bot.records.flow import FLOWS, NEEDS_STUDENTS, OTHER_SPEC
from bot.records.quick import ONLINE_WORDS
from bot.records.service import cycle_closed, own_records, update_record
from bot.wecom import cards
from bot.wecom.messages import ClickEvent, TextMessage
from handlers import record_scope
from handlers.record_scope import Scope

router = Router("record_list")

MENU_LIST = "record_list"
SHOWN = 15
FIELDS = {
    "时间": "occurred_at",
    "日期": "occurred_at",
    "地点": "place",
    "内容": "note",
    "备注": "note",
    "名称": "title",
    "标题": "title",
    "学生": "students",
    "参加": "students",
}
# 查看 #id: one answer for an id nobody has, a deleted record and someone else's record
NO_SUCH_RECORD = "没有这条记录，或您无权查看。"
CLOSED = "本学年的考核已经结束，记录不能再修改或删除。如有疑问，请联系书院部。"


def _line(ctx: Context, number: int, record: Record) -> str:
    return f"{number}. {summary(ctx, record)}"


def summary(ctx: Context, record: Record) -> str:
    moment = record.occurred_at.astimezone(ctx.zone)
    what = RECORD_KIND_NAMES[record.kind]
    detail = record.title if record.kind != RecordKind.CARE else ""
    students = [p.student.name for p in record.participants]
    if students:
        shown = "、".join(students[:3]) + (f"等{len(students)}人" if len(students) > 3 else "")
        detail = f"{detail} {shown}".strip()
    return f"{moment.month}月{moment.day}日 {what} {detail}".rstrip()


@router.on_command("记录", "我的记录")
@router.on_menu(MENU_LIST)
@record_scope.for_mentors
def list_records(message: TextMessage | ClickEvent, ctx: Context, scope: Scope) -> Reply:
    rows = own_records(ctx.session, ctx.person.id, scope.year.id)
    if not rows:
        return Reply.text(
            f"您在 {scope.year.code} 学年还没有记录。\n试试发送：交流 张三 线上 聊选课"
        )
    numbered = list(enumerate(rows, start=1))[:SHOWN]  # newest first, numbered as shown
    shown = f"，显示最近 {len(numbered)} 条" if len(numbered) < len(rows) else ""
    lines = [f"您在 {scope.year.code} 学年的记录（共 {len(rows)} 条{shown}，新的在前）："]
    lines.extend(_line(ctx, number, record) for number, record in numbered)
    lines.append("")
    n = 1  # the newest record: always listed
    lines.append(
        f"查看：查看 {n}　修改：修改 {n} 地点 图书馆（可改 时间/地点/内容/名称/学生）"
        f"　删除：删除 {n}"
    )
    if len(rows) > len(numbered):
        lines.append(f"更早的记录也可以用编号（{len(numbered) + 1}–{len(rows)}）查看。")
    return Reply.text("\n".join(lines))


def numbered_record(ctx: Context, scope: Scope, text: str, verb: str) -> Record | Reply:
    """Record number ``text`` of the 记录 list, or the answer saying how to write one."""
    rows = own_records(ctx.session, ctx.person.id, scope.year.id)
    number = parse_whole(text, 1, len(rows))
    if number is not None:
        return rows[number - 1]
    if not text.isdigit():  # 删除 abc: not a number at all
        example = f"{verb} 1" if verb != "修改" else "修改 1 地点 图书馆"
        return Reply.text(
            f"“{echo(text)}”不是记录编号。请写“记录”列表里的数字编号，例如：{example}"
        )
    return Reply.text(f"没有第 {echo(text)} 条记录。发送“记录”查看编号。")


@router.on_command("修改")
@record_scope.for_mentors
def change_own_record(message: TextMessage, ctx: Context, scope: Scope) -> Reply:
    words = message.content.split()
    if len(words) < 4 or words[2] not in FIELDS:
        return Reply.text(
            "请按这样发送：修改 3 地点 图书馆\n可以修改：时间、地点、内容、名称、学生"
        )
    if cycle_closed(ctx.session, scope.year.id):
        return Reply.text(CLOSED)
    record = numbered_record(ctx, scope, words[1], "修改")
    if isinstance(record, Reply):
        return record
    field, value = FIELDS[words[2]], " ".join(words[3:])
    if field == "title" and record.kind == RecordKind.CARE:
        # a title is kept in plain text (list, audit log, exports): never put a care note there
        return Reply.text("关爱记录没有名称。修改内容请发送：修改 3 内容 ……（内容加密保存）")
    if field == "title" and "title" not in FLOWS.get(record.kind, OTHER_SPEC).steps:
        return Reply.text(
            f"{RECORD_KIND_NAMES[record.kind]}没有名称。修改内容请发送：修改 {words[1]} 内容 ……"
        )
    changes: dict[str, Any] = {}
    student_ids = None
    if field == "occurred_at":
        try:
            check_time(words[3])
            when = parse_when(
                words[3], ctx.local_now.date(), scope.year.starts_on, scope.year.ends_on
            )
            if when is None and parse_time(words[3]) is not None:  # a time alone: today's
                when = When(ctx.local_now.date(), parse_time(words[3]))
            if when is not None and when.at is None and len(words) > 4:
                check_time(words[4])  # 25:00 is refused, never dropped
                at = parse_time(words[4])
                when = When(when.day, at) if at else when
            if when is None:
                return Reply.text("没有看懂这个时间。可以发送：今天、昨天、周三、11月20日 19:00")
            if when.at is None:  # a day alone keeps the record's time of day, never noon
                when = When(when.day, record.occurred_at.astimezone(ctx.zone).time())
            moment = when.moment(ctx.zone, ctx.now)
            check_moment(moment, ctx.now, scope.year.starts_on, scope.year.ends_on)
        except DateError as exc:
            return Reply.text(str(exc))
        changes["occurred_at"] = moment
        value = format_moment(moment)
    elif field == "students":
        if record.kind not in NEEDS_STUDENTS:
            return Reply.text("这条记录没有参加的学生。")
        resolved = record_scope.student_ids_named(ctx, scope, re.split(r"[\s、，,]+", value))
        if isinstance(resolved, str):
            return Reply.text(resolved + "。")
        if record.kind == RecordKind.CARE and len(resolved) != 1:
            return Reply.text("一条关爱记录只记一位学生。")
        student_ids = resolved
    elif field == "place":
        changes["place"] = value[:200]
        changes["online"] = ONLINE_WORDS.get(value, False)
    else:
        changes[field] = value if field == "note" else value[:200]
    update_record(
        ctx.session,
        record,
        actor=ctx.person,
        changes=changes,
        student_ids=student_ids,
        care_key=ctx.settings.CARE_NOTES_KEY,
        now=ctx.now,
    )
    shown = "已加密保存" if record.kind == RecordKind.CARE and field == "note" else echo(value)
    return Reply.text(f"已修改第 {words[1]} 条的{words[2]}：{shown}")


@router.on_command("查看")
# anyone may ask (a refused reader of a care note is audited and told what a missing id gets);
# only these roles find anything
@for_roles(Role.MENTOR, Role.COLLEGE_ADMIN, Role.ACADEMY_ADMIN)
def show_record(message: TextMessage, ctx: Context) -> Reply:
    """查看 3 (own record number 3) or 查看 #123 (a record id, for the office and colleges)."""
    words = message.content.split()
    if len(words) != 2:
        return Reply.text("请发送：查看 3（发送“记录”查看编号）")
    if words[1].startswith("#"):
        record_id = parse_id(words[1][1:])
        record = None if record_id is None else ctx.session.get(Record, record_id)
        if record is None or record.deleted_at is not None:
            return Reply.text(NO_SUCH_RECORD)
        number = f"#{record_id}"
    else:
        scope = record_scope.mentor_scope(ctx)
        if isinstance(scope, Reply):
            return scope
        found = numbered_record(ctx, scope, words[1], "查看")
        if isinstance(found, Reply):
            return found
        record, number = found, f"第 {words[1]} 条"
    if record.kind == RecordKind.CARE:
        return _show_care(ctx, record, number)
    if record.mentor_id != ctx.person.id:
        return Reply.text(NO_SUCH_RECORD)
    return Reply.text(_details(ctx, record, number, record.note))


CARE_HIDDEN = "关爱内容：请点击链接查看（仅本人、学院管理员和书院部可见）"


def _show_care(ctx: Context, record: Record, number: str) -> Reply:
    """The details a chat may carry and a link to the note's page; nothing is decrypted here,
    so sending the link reads (and audits) nothing. A refused reader's attempt is audited."""
    if not may_read(ctx.session, ctx.person, record):
        audit_read(ctx.session, ctx.person, record, allowed=False, now=ctx.now)
        return Reply.text(NO_SUCH_RECORD)  # the attempt is audited; the answer tells nothing
    return Reply.template_card(care_card(ctx, record, number))


def care_card(ctx: Context, record: Record, number: str) -> dict[str, Any]:
    moment = record.occurred_at.astimezone(ctx.zone)
    fields = [("时间", format_moment(moment))]
    students = [p.student.name for p in record.participants]
    if students:
        fields.append(("学生", "、".join(students)))
    if record.mentor_id != ctx.person.id:
        fields.insert(0, ("导师", record.mentor.name))
    return cards.text_notice(
        _heading(ctx, record, number),
        desc="点击查看关爱内容",
        sub_title=CARE_HIDDEN,
        fields=fields,
        url=care_page_url(ctx.settings.PUBLIC_BASE_URL, record.id),
        source="全生异科导师",
    )


def _heading(ctx: Context, record: Record, number: str) -> str:
    """``3：集体活动（M2、M5）``: the list number, the kind and the items it counts for."""
    items = "、".join(items_counted(ctx.session, record))
    if not items:  # e.g. the month's guidance, which students rate, or a 线上 tea talk
        items = "供学生评价" if record.kind in RATED_KINDS else "不计入考核指标"
    return f"{number}：{RECORD_KIND_NAMES[record.kind]}（{items}）"


def _details(ctx: Context, record: Record, number: str, note: str | None) -> str:
    moment = record.occurred_at.astimezone(ctx.zone)
    lines = [_heading(ctx, record, number)]
    spec = FLOWS.get(record.kind, OTHER_SPEC)
    if record.title and "title" in spec.steps:  # a contact or a talk has no name of its own
        lines.append(f"{spec.title_label}：{record.title}")
    if "time" in spec.steps:
        lines.append(f"时间：{format_moment(moment)}")
    else:  # a kind whose time of day is never asked
        lines.append(f"日期：{format_day(moment)}")
    students = [p.student.name for p in record.participants]
    if students:
        lines.append("学生：" + "、".join(students))
    if record.place or record.online is not None:
        lines.append(f"地点：{record.place or ('线上' if record.online else '线下')}")
    lines.append(f"内容：{note or '无'}")
    photos = [e for e in record.evidence if e.purpose == "photo"]
    if photos:
        lines.append(f"佐证照片：{len(photos)} 张")
    return "\n".join(lines)
