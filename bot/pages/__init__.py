"""Small mobile pages opened from links in cards, signed in with WeCom's in-app OAuth."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bot.core import inputs
from bot.core.storage import StorageError
from bot.pages import auth, care, cycle, home, overview, rate, ratings, upload


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.PUBLIC_BASE_URL.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    inputs.init_app(app)  # <id:…> in the pages' rules: before they are registered
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(upload.blueprint)
    app.register_blueprint(cycle.blueprint)
    app.register_blueprint(overview.blueprint)
    app.register_blueprint(care.blueprint)
    app.register_blueprint(ratings.blueprint)
    app.register_blueprint(rate.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_error_handler(HTTPException, _http_error)


# Every error page is in Chinese: a title for the status, and the reason given to abort() when
# there is one, else a sentence for the status (never werkzeug's English "Bad Request").
ERROR_TITLES = {
    400: "请求无效",
    401: "需要登录",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持这种操作",
    413: "文件太大",
    429: "操作太频繁",
    500: "系统出错",
    503: "暂时无法使用",
}
ERROR_MESSAGES = {
    400: "请求无效，请回到企业微信重新打开页面。",
    401: "请回到企业微信重新打开页面。",
    403: "您没有权限查看这个页面。",
    404: "没有这个页面，链接可能已失效。",
    405: "这个页面不支持这种操作。",
    413: "上传的文件太大。",
    429: "操作太频繁，请稍后再试。",
    500: "系统出错了，刚才的操作可能没有完成。请稍后再试；如果一直不成功，请联系书院部。",
    503: "系统暂时无法使用，请稍后再试。",
}


def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
    if exc.response is not None:  # abort(response): already the answer
        return exc.response
    status = exc.code or 500
    given = exc.description if exc.description != type(exc).description else None
    message = given or ERROR_MESSAGES.get(status, "无法完成这个请求，请稍后再试。")
    page, code = auth.error_page(status, message, title=ERROR_TITLES.get(status, "无法继续"))
    response = Response(page, code, mimetype="text/html")
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _storage_unavailable(exc: StorageError) -> tuple[str, int]:
    """A page that needed the file store while it failed (logged there): nothing was saved."""
    return auth.error_page(
        503, "文件存储暂时无法使用，刚才的操作没有保存。请稍后再试；如果一直不成功，请联系书院部。"
    )


for _blueprint in (upload.blueprint, cycle.blueprint):  # once, before any app registers them
    _blueprint.register_error_handler(StorageError, _storage_unavailable)
