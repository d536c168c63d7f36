"""Sign-in for in-app pages: WeCom OAuth (snsapi_base → code → userid) → our session cookie.

Also the CSRF token every form of these pages carries.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
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
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core.db import get_session
from bot.core.models import Person
from bot.core.redis_store import REDIS_ERRORS
from bot.wecom.app_client import get_client
from bot.wecom.client import WeComError

F = TypeVar("F", bound=Callable[..., Any])
STATE_MAX_AGE = 600
log = structlog.get_logger("bot.pages.auth")

blueprint = Blueprint("auth", __name__, url_prefix="/m", template_folder="templates")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wecom-oauth")


def authorize_url(next_path: str) -> str:
    settings = current_app.extensions["settings"]
    nonce = secrets.token_urlsafe(16)
    session["oauth_nonce"] = nonce
    state = _serializer().dumps({"next": next_path, "nonce": nonce})
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
            person = get_session().scalar(
                sa.select(Person).where(Person.userid == userid, Person.active.is_(True))
            )
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
    try:
        state = _serializer().loads(request.args.get("state", ""), max_age=STATE_MAX_AGE)
    except BadSignature:
        return error_page(400, "登录链接已失效，请回到企业微信重新打开。")
    nonce = session.pop("oauth_nonce", None)
    if not code or not nonce or not hmac.compare_digest(str(state.get("nonce")), nonce):
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
        person = get_session().scalar(
            sa.select(Person).where(Person.userid == user.userid, Person.active.is_(True))
        )
    if person is None:
        settings = current_app.extensions["settings"]
        return error_page(
            403, f"您不在全生异科导师工作名单中。如有疑问，请联系{settings.SUPPORT_CONTACT}。"
        )
    session.clear()
    session["userid"] = person.userid
    session.permanent = True
    next_path = str(state.get("next") or "/m/")
    if not next_path.startswith("/m/"):
        next_path = "/m/"
    return redirect(next_path)


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
