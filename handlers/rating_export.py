"""导出评价: the academy office asks for the ratings audit export and gets a link to the
signed-in download page (the workbook pairs students with ratings, so it never goes in chat)."""

from __future__ import annotations

from bot.chat.context import Context, Reply
from bot.chat.router import Router, only
from bot.core.models import Role
from bot.cycle import access
from bot.ratings import export
from bot.wecom.messages import TextMessage

router = Router("rating_export")

REFUSED = "学生评价导出只对书院部开放。"


@router.on_command(export.COMMAND)
@only(Role.ACADEMY_ADMIN, refusal=REFUSED)
def export_ratings(message: TextMessage, ctx: Context) -> Reply:
    if not access.is_office(ctx.person):
        return Reply.text(REFUSED)
    code = export.requested_year(message.content.split()[1:], ctx.local_now.date())
    if code is None:
        return Reply.text(f"请写明学年，例如：{export.COMMAND} 2025-2026（不写学年即导出本学年）")
    year = export.find_year(ctx.session, code)
    if year is None:
        return Reply.text(f"系统中没有 {code} 学年。")
    url = export.page_url(ctx.settings.PUBLIC_BASE_URL, year.code)
    return Reply.markdown(
        f"**{year.code} 学年学生评价导出**\n"
        f"> [下载评价明细与活动汇总]({url})\n"
        "表中含学生与其评价，仅供书院部审计使用，请勿转发；每次下载都会记入审计日志。"
    )
