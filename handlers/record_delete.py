"""删除 and 恢复 a mentor's own records. ``删除 3`` asks first, on a card (删除 / 取消); a
deleted record is only marked deleted (left out of evidence, scoring and exports) and its
mentor can bring it back within a day with ``恢复`` (or ``恢复 2`` when several were deleted).
Nothing changes once the year's assessment cycle has closed. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.chat.context import Context, Reply
from bot.chat.router import CardKey, Router
from bot.core.echo import echo
from bot.core.inputs import parse_whole
from bot.core.models import Record
from bot.records.service import (
    RESTORE_WINDOW,
    cycle_closed,
    delete_record,
    restorable_records,
    restore_record,
)
from bot.wecom import cards
from bot.wecom.messages import TemplateCardEvent, TextMessage
from handlers import record_scope
from handlers.record_list import CLOSED, NO_SUCH_RECORD, numbered_record, summary
from handlers.record_scope import Scope

router = Router("record_delete")

HOURS = int(RESTORE_WINDOW.total_seconds() // 3600)
RESTORE_HINT = f"{HOURS}小时内发送“恢复”可以恢复。"


@dataclass(frozen=True)
class DeleteTap:
    record_id: int
    choice: Literal["delete", "keep"]


DELETE = CardKey("rec_delete", DeleteTap)


@router.on_command("删除")
@record_scope.for_mentors
def ask_to_delete(message: TextMessage, ctx: Context, scope: Scope) -> Reply:
    """``删除 3``: a card showing record 3, with 删除 and 取消; nothing is deleted yet."""
    words = message.content.split()
    if len(words) != 2:
        return Reply.text("请发送要删除的记录编号，例如：删除 1（发送“记录”查看编号）")
    if cycle_closed(ctx.session, scope.year.id):
        return Reply.text(CLOSED)
    record = numbered_record(ctx, scope, words[1], "删除")
    if isinstance(record, Reply):
        return record
    card = cards.button_interaction(
        f"删除第 {words[1]} 条记录？",
        desc=summary(ctx, record),
        sub_title=f"删除后不再计入考核。{RESTORE_HINT}",
        task_id=ctx.new_task_id("rec-delete"),
        buttons=[
            cards.Button(DELETE.pack(record.id, "delete"), "删除", 3),
            cards.Button(DELETE.pack(record.id, "keep"), "取消", 4),
        ],
    )
    return Reply.template_card(card)


@router.on_card(DELETE)
@record_scope.for_mentors
def answer_delete(message: TemplateCardEvent, ctx: Context, scope: Scope) -> Reply:
    tap = DELETE.unpack(message.event_key)
    record = ctx.session.get(Record, tap.record_id)
    if record is None or record.mentor_id != ctx.person.id or record.year_id != scope.year.id:
        return Reply.text(NO_SUCH_RECORD)
    if tap.choice == "keep":
        ctx.update_card(message.response_code, replace_name="已取消")
        return Reply.text(f"已取消，没有删除：{summary(ctx, record)}")
    if record.deleted_at is not None:
        ctx.update_card(message.response_code, replace_name="已删除")
        return Reply.text(f"这条记录已经删除了。{RESTORE_HINT}")
    if cycle_closed(ctx.session, scope.year.id):
        return Reply.text(CLOSED)
    delete_record(ctx.session, record, actor=ctx.person, now=ctx.now)
    ctx.update_card(message.response_code, replace_name="已删除")
    return Reply.text(f"已删除：{summary(ctx, record)}\n{RESTORE_HINT}")


@router.on_command("恢复")
@record_scope.for_mentors
def restore(message: TextMessage, ctx: Context, scope: Scope) -> Reply:
    """``恢复``: the record deleted last (within a day); ``恢复 2``: the second one listed."""
    words = message.content.split()
    if len(words) > 2:
        return Reply.text("请发送：恢复（恢复刚删除的记录），或 恢复 2（恢复列出的第 2 条）")
    if cycle_closed(ctx.session, scope.year.id):
        return Reply.text(CLOSED)
    rows = restorable_records(ctx.session, ctx.person.id, scope.year.id, ctx.now)
    if not rows:
        return Reply.text(f"没有可以恢复的记录：只能恢复{HOURS}小时内删除的记录。")
    if len(words) == 1 and len(rows) > 1:
        lines = [f"{HOURS}小时内删除的记录："]
        lines.extend(f"{n}. {summary(ctx, record)}" for n, record in enumerate(rows, start=1))
        lines.append("")
        lines.append("请发送要恢复的编号，例如：恢复 1")
        return Reply.text("\n".join(lines))
    number = 1 if len(words) == 1 else parse_whole(words[1], 1, len(rows))
    if number is None:
        return Reply.text(
            f"没有可以恢复的第 {echo(words[1])} 条。发送“恢复”查看{HOURS}小时内删除的记录。"
        )
    record = rows[number - 1]
    restore_record(ctx.session, record, actor=ctx.person, now=ctx.now)
    return Reply.text(f"已恢复：{summary(ctx, record)}\n发送“记录”查看。")
