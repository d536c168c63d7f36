"""Sign-in for in-app pages: WeCom OAuth (snsapi_base → code → userid) → our session cookie.

WeCom takes a ``state`` of at most 128 bytes of ``a-zA-Z0-9``: ours is a random 32-character
alphanumeric string, and the page to return to (``next``) waits in the session with it and the
time it was issued, for ``STATE_MAX_AGE`` seconds. The callback accepts only the state of this
browser's session, once.

Also the CSRF token every form of these pages carries.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import string
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import structlog
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
)

from bot.core.db import get_session
from bot.core.redis_store import REDIS_ERRORS
from bot.roster.userids import active_person
from bot.wecom.app_client import get_client
from bot.wecom.errors import WeComError

F = TypeVar("F", bound=Callable[..., Any])
STATE_MAX_AGE = 600
STATE_LENGTH = 32  # WeCom: at most 128 bytes, a-zA-Z0-9
_STATE_ALPHABET = string.ascii_letters + string.digits
log = structlog.get_logger("bot.pages.auth")

blueprint = Blueprint("auth", __name__, url_prefix="/m", template_folder="templates")


def new_state() -> str:
    """A state WeCom accepts: random, alphanumeric, ``STATE_LENGTH`` characters."""
    return "".join(secrets.choice(_STATE_ALPHABET) for _ in range(STATE_LENGTH))


def authorize_url(next_path: str) -> str:
    settings = current_app.extensions["settings"]
    state = new_state()
    session["oauth"] = {"state": state, "next": next_path, "issued": int(time.time())}
    query = urlencode(
        {
            "appid": settings.WECOM_CORP_ID,
            "redirect_uri": settings.PUBLIC_BASE_URL + "/m/oauth/callback",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": settings.WECOM_AGENT_ID,
        }
    )
    return f"{settings.WECOM_OAUTH_BASE}/connect/oauth2/authorize?{query}#wechat_redirect"


def login_required(view: F) -> F:
    """The signed-in person in ``g.person``; otherwise off to WeCom's OAuth and back."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        userid = session.get("userid")
        person = None
        if userid:
            person = active_person(get_session(), userid)
        if person is None:
            return redirect(authorize_url(request.full_path.rstrip("?")))
        g.person = person
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def error_page(status: int, message: str, *, title: str = "无法继续") -> tuple[str, int]:
    return render_template("pages/message.html", title=title, message=message), status


@blueprint.get("/oauth/callback")
def oauth_callback() -> Any:
    code = request.args.get("code", "")
    pending = session.pop("oauth", None)
    if not code or not _state_holds(pending, request.args.get("state", "")):
        return error_page(400, "登录链接已失效，请回到企业微信重新打开。")
    try:
        user = get_client().get_userinfo_by_code(code)
    except WeComError:
        return error_page(400, "登录失败：授权码无效或已使用，请回到企业微信重新打开。")
    except REDIS_ERRORS:  # the access token is shared through Redis
        log.warning("oauth_redis_unavailable")
        return error_page(503, "系统繁忙，请稍后再试。")
    person = None
    if user.userid:
        person = active_person(get_session(), user.userid)
    if person is None:
        settings = current_app.extensions["settings"]
        return error_page(
            403, f"您不在全生异科导师工作名单中。如有疑问，请联系{settings.SUPPORT_CONTACT}。"
        )
    session.clear()
    session["userid"] = person.userid
    session.permanent = True
    next_path = str(pending.get("next") or "/m/")
    if not next_path.startswith("/m/"):
        next_path = "/m/"
    return redirect(next_path)


def _state_holds(pending: Any, state: str) -> bool:
    """Whether ``state`` is the one this session was sent off with, within STATE_MAX_AGE."""
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        return False
    issued = pending.get("issued")
    if not isinstance(issued, int) or not 0 <= time.time() - issued <= STATE_MAX_AGE:
        return False
    return hmac.compare_digest(state.encode(), pending["state"].encode())


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf() -> None:
    sent = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(make_response(error_page(400, "页面已过期，请刷新后重试。", title="页面已过期")))
