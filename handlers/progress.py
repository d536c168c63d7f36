"""我的: this week's, this semester's and this month's progress against the minimums."""

from __future__ import annotations

from typing import Any

from bot.context import Context, Reply
from bot.records.progress import progress, progress_text
from bot.router import Router
from handlers import record_scope

router = Router("progress")

MENU_MINE = "mine"


@router.on_command("我的")
@router.on_menu(MENU_MINE)
def show_progress(message: Any, ctx: Context) -> Reply:
    scope = record_scope.mentor_scope(ctx)
    if isinstance(scope, Reply):
        return scope
    result = progress(
        ctx.session, mentor_id=ctx.person.id, year=scope.year, now=ctx.now, zone=ctx.zone
    )
    return Reply.markdown(progress_text(result, ctx.person.name))
