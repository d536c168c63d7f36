"""上传: links to the in-app upload page for documents WeCom does not pass to apps."""

from __future__ import annotations

from bot.chat.context import Context, Reply
from bot.chat.router import Router, only
from bot.records import uploads
from bot.records.uploads import PURPOSES
from bot.wecom.messages import TextMessage

router = Router("uploads")


def upload_url(ctx: Context, purpose: str) -> str:
    return uploads.upload_url(ctx.settings.PUBLIC_BASE_URL, purpose)


UPLOADERS = frozenset(role for purpose in PURPOSES.values() for role in purpose.roles)


@router.on_command("上传")
@only(*sorted(UPLOADERS), refusal="您目前没有需要上传的材料。")
def offer_uploads(message: TextMessage, ctx: Context) -> Reply:
    allowed = [
        (name, purpose)
        for name, purpose in PURPOSES.items()
        if any(ctx.has_role(role) for role in purpose.roles)
    ]
    if not allowed:
        return Reply.text("您目前没有需要上传的材料。")
    links = "\n".join(f"> [{purpose.title}]({upload_url(ctx, name)})" for name, purpose in allowed)
    return Reply.markdown(
        "**上传材料**\n企业微信不会把聊天中的文件转给应用，请点击下面的链接上传：\n" + links
    )
