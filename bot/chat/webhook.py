"""The one callback endpoint: verify → de-duplicate → dispatch, nothing else.

Every refusal is a 4xx with an empty body, nothing stored and nothing sent. Message contents
are never logged.

Redis is only the fast path: while it is unreachable a callback is still answered 200, acted on
once through the database marker, and its replies wait in the outbox until the sender can reach
Redis again. A handler that needs conversation state (Redis) then answers "系统繁忙" instead.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from flask import Blueprint, Flask, Response, current_app, request

from bot.chat import dedupe, dispatch
from bot.core.db import get_database
from bot.core.redis_store import RedisUnavailable, get_redis
from bot.core.storage import app_file_store
from bot.ops.metrics import CALLBACK_SECONDS, CALLBACKS, DUPLICATES
from bot.outbox import queue as outbox
from bot.wecom import messages as wm
from bot.wecom.crypto import CallbackRejected, StaleTimestampError, WeComCrypto

MAX_BODY_BYTES = 1024 * 1024

blueprint = Blueprint("wecom", __name__)
log = structlog.get_logger("bot.chat.webhook")


def _crypto() -> WeComCrypto:
    return current_app.extensions["wecom_crypto"]


def _query() -> tuple[str, str, str] | None:
    args = request.args
    values = (args.get("msg_signature"), args.get("timestamp"), args.get("nonce"))
    if not all(values) or not values[1].isdigit():  # type: ignore[union-attr]
        return None
    return values  # type: ignore[return-value]


def _refuse(status: int, reason: str) -> Response:
    log.info("callback_refused", status=status, reason=reason)
    CALLBACKS.labels(type="unknown", outcome=f"refused_{status}").inc()
    return Response("", status=status, mimetype="text/plain")


@blueprint.get("/wecom/callback")
def verify_url() -> Response:
    query = _query()
    echostr = request.args.get("echostr")
    if query is None or not echostr:
        return _refuse(400, "missing query")
    signature, timestamp, nonce = query
    try:
        plain = _crypto().verify_url(
            signature, timestamp, nonce, echostr, now=int(datetime.now(UTC).timestamp())
        )
    except CallbackRejected as exc:
        return _refuse(403, type(exc).__name__)
    return Response(plain, mimetype="text/plain")


@blueprint.post("/wecom/callback")
def receive() -> Response:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refuse(413, "body too large")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, "body too large")
    query = _query()
    if query is None:
        return _refuse(400, "missing query")
    signature, timestamp, nonce = query
    now = datetime.now(UTC)
    try:
        xml = _crypto().decrypt_message(body, signature, timestamp, nonce, now=int(now.timestamp()))
        message = wm.parse_message(xml)
    except StaleTimestampError:
        return _refuse(403, "stale timestamp")
    except CallbackRejected as exc:
        return _refuse(400 if "Xml" in type(exc).__name__ else 403, type(exc).__name__)
    return _act_once(message, now)


def _act_once(message: wm.Message, now: datetime) -> Response:
    store = get_redis()
    key = message.dedupe_key
    if dedupe.seen(store, key):
        return _duplicate(message)
    started = time.perf_counter()
    database = get_database()
    settings = current_app.extensions["settings"]
    try:
        with database.session() as session:
            first = dedupe.record(session, key, now)
            if first:
                dispatch.handle(
                    message,
                    session=session,
                    settings=settings,
                    dispatcher=current_app.extensions["dispatcher"],
                    now=now,
                    store=store,
                    files=app_file_store(current_app),
                )
    except sa.exc.OperationalError:
        log.exception("callback_database_unavailable", msg_type=message.msg_type)
        CALLBACKS.labels(type=message.msg_type, outcome="unavailable").inc()
        return Response("", status=503, mimetype="text/plain")
    except RedisUnavailable:  # logged once per outage by the store
        CALLBACKS.labels(type=message.msg_type, outcome="busy").inc()
        _apologise(message, now, BUSY)
        return Response("", mimetype="text/plain")
    except Exception:
        log.exception("callback_handler_failed", msg_type=message.msg_type)
        CALLBACKS.labels(type=message.msg_type, outcome="failed").inc()
        _apologise(message, now, FAILED)
        return Response("", mimetype="text/plain")
    dedupe.remember(store, key)
    if not first:
        return _duplicate(message)
    elapsed = time.perf_counter() - started
    CALLBACK_SECONDS.observe(elapsed)
    CALLBACKS.labels(type=message.msg_type, outcome="handled").inc()
    log.info("callback_handled", msg_type=message.msg_type, ms=round(elapsed * 1000, 1))
    return Response("", mimetype="text/plain")


def _duplicate(message: wm.Message) -> Response:
    DUPLICATES.inc()
    CALLBACKS.labels(type=message.msg_type, outcome="duplicate").inc()
    log.info("callback_duplicate", msg_type=message.msg_type)
    return Response("", mimetype="text/plain")


FAILED = "抱歉，处理您的消息时出错了，请稍后再试。"
BUSY = "系统繁忙，请稍后再试。"  # the conversation state (Redis) cannot be reached


def _apologise(message: wm.Message, now: datetime, text: str) -> None:
    """A handler failed: its work was rolled back; tell the person instead of staying silent.

    The callback stays marked as seen (a retry within seconds would fail the same way);
    nothing else is kept.
    """
    try:
        with get_database().session() as session:
            dedupe.record(session, message.dedupe_key, now)
            outbox.enqueue(
                session,
                [message.from_user],
                outbox.Message.text(text),
                key=f"error:{message.dedupe_key}",
                now=now,
            )
    except sa.exc.SQLAlchemyError:
        log.exception("callback_apology_failed", msg_type=message.msg_type)
        return
    dedupe.remember(get_redis(), message.dedupe_key)


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.extensions["wecom_crypto"] = WeComCrypto(
        settings.WECOM_TOKEN, settings.WECOM_AES_KEY, settings.WECOM_CORP_ID
    )
    from handlers import build_dispatcher

    app.extensions["dispatcher"] = build_dispatcher()
    app.register_blueprint(blueprint)
