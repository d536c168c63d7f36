"""A photo sent during a record flow, or soon after a record, becomes its evidence.

Only the media id is kept here; ``flask --app bot evidence fetch`` downloads the file later,
so the callback stays fast.
"""

from __future__ import annotations

from bot.chat.context import Context, Reply
from bot.chat.router import Router
from bot.core.echo import echo
from bot.core.models import RECORD_KIND_NAMES, Record
from bot.records.evidence import attach_photo
from bot.records.flow import with_photo
from bot.wecom.messages import ImageMessage
from handlers import record_scope
from handlers.record_scope import Scope

router = Router("evidence")


@router.on_message("image")
@record_scope.for_mentors
def attach_evidence_photo(message: ImageMessage, ctx: Context, scope: Scope) -> Reply:
    flow = record_scope.open_flow(ctx)
    if flow is not None:
        flow = with_photo(flow, message.media_id)
        record_scope.keep_flow(ctx, flow)
        return Reply.text(
            f"照片已收到（{len(flow.media_ids)} 张），保存记录时一并作为佐证。请继续完成记录。"
        )
    record_id = record_scope.last_record_id(ctx)
    record = ctx.session.get(Record, record_id) if record_id is not None else None
    if record is None or record.mentor_id != ctx.person.id or record.deleted_at is not None:
        return Reply.text(
            "请先记录一次工作（例如：交流 张三 线上 聊选课），再在30分钟内发送照片作为佐证。"
        )
    attach_photo(ctx.session, record, message.media_id, owner=ctx.person, now=ctx.now)
    name = RECORD_KIND_NAMES[record.kind]
    label = f"“{echo(record.title)}”" if record.title and record.kind.value != "care" else ""
    return Reply.text(f"照片已作为{name}{label}的佐证保存。")
