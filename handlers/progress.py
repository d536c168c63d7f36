"""我的: this week's, this semester's and this month's progress against the minimums.

The answer is the markdown text (the handler's reply) and, when a CJK font and a file store
are there, the same figures as a small picture (``bot.records.progress_image``), saved in the
store and queued as an image message. The image is queued while the handler runs, so it is
sent just before the text (the sender keeps a person's messages in the order they were
queued): the picture for the glance, then the complete text with its notes as the last
message on screen. Without a font or a store, or when the store fails, the text goes out
alone (logged as ``progress_image_skipped`` / ``progress_image_failed``, without personal data).
"""

from __future__ import annotations

import structlog

from bot.chat.context import Context, Reply
from bot.chat.router import Router
from bot.outbox.queue import Message
from bot.records import progress_image
from bot.records.progress import Progress, progress, progress_text
from bot.wecom.messages import ClickEvent, TextMessage
from handlers import record_scope
from handlers.record_scope import Scope

log = structlog.get_logger(__name__)

router = Router("progress")

MENU_MINE = "mine"
IMAGE_FILENAME = "我的进度.png"


@router.on_command("我的")
@router.on_menu(MENU_MINE)
@record_scope.for_mentors
def show_progress(message: TextMessage | ClickEvent, ctx: Context, scope: Scope) -> Reply:
    result = progress(
        ctx.session, mentor_id=ctx.person.id, year=scope.year, now=ctx.now, zone=ctx.zone
    )
    send_progress_image(ctx, result)
    return Reply.markdown(progress_text(result, ctx.person.name))


def send_progress_image(ctx: Context, result: Progress) -> bool:
    """Draw ``result``, save it in the file store and queue it for the person; False (logged)
    when there is no store or no CJK font, or the store fails: the text still goes out."""
    if ctx.files is None:
        log.warning("progress_image_skipped", reason="no_file_store")
        return False
    faces = progress_image.load_fonts()
    if faces is None:
        log.warning("progress_image_skipped", reason="no_cjk_font")
        return False
    try:
        png = progress_image.render_png(result, today=ctx.local_now.date(), faces=faces)
    except OSError as exc:  # FreeType could not read the font file
        log.warning("progress_image_failed", reason="render", error=f"{type(exc).__name__}: {exc}")
        return False
    try:
        stored = ctx.files.put(png, ".png", ctx.now)
    except OSError as exc:  # StorageError (object store), or the local disk refusing
        log.warning(
            "progress_image_failed", reason="file_store", error=f"{type(exc).__name__}: {exc}"
        )
        return False
    ctx.send([ctx.person.userid], Message.image(stored.key, IMAGE_FILENAME))
    return True
