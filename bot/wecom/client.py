"""The one WeCom API client: wechatpy's enterprise client with the gaps closed.

- every call, gettoken and media download included, goes to ``api_base`` + ``/cgi-bin/…``
  (wechatpy hard-codes the host for those two) and has a timeout;
- a non-zero errcode raises :class:`WeComAPIError`; network trouble raises
  :class:`WeComNetworkError` (:class:`WeComTimeout` for a hung call);
- the access token lives in Redis for all processes; one process at a time refreshes it under
  a Redis lock; 40014/42001 refresh it once and retry;
- 45009 (frequency limit) and -1 (system busy) back off and retry a bounded number of times.

Per-person send limits (30 a minute, 1,000 an hour) are the outbox's job; this client sends
exactly what it is asked to, once per call (plus the bounded retries above). Message contents
are never logged.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message as MimeHeaders
from typing import Any, NamedTuple

import redis
import structlog

from bot.wecom.cards import check_content
from bot.wecom.errors import WeComAPIError, WeComNetworkError
from bot.wecom.transport import TokenCache, WeChatpyTransport, read_limited

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
MAX_RECIPIENTS = 1000
MAX_DUPLICATE_CHECK_INTERVAL = 4 * 3600
MEDIA_TYPES = ("image", "voice", "video", "file")
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024

TOKEN_ERRORS = frozenset({40014, 42001})
THROTTLE_ERRORS = frozenset({45009, -1})

log = structlog.get_logger("bot.wecom.client")


@dataclass(frozen=True)
class SendResult:
    """What message/send (or update_template_card) reported."""

    msgid: str = ""
    invalid_users: tuple[str, ...] = ()
    invalid_parties: tuple[str, ...] = ()
    invalid_tags: tuple[str, ...] = ()
    unlicensed_users: tuple[str, ...] = ()
    response_code: str = ""

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> SendResult:
        return cls(
            msgid=str(data.get("msgid") or ""),
            invalid_users=_id_list(data.get("invaliduser")),
            invalid_parties=_id_list(data.get("invalidparty")),
            invalid_tags=_id_list(data.get("invalidtag")),
            unlicensed_users=_id_list(data.get("unlicenseduser")),
            response_code=str(data.get("response_code") or ""),
        )


class DownloadedMedia(NamedTuple):
    content: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class OAuthUser:
    """Who opened an in-app page: ``userid`` for a member, else only ``openid``."""

    userid: str | None
    openid: str | None = None


@dataclass(frozen=True)
class NewsArticle:
    title: str
    url: str
    description: str = ""
    picurl: str = ""


@dataclass(frozen=True)
class _Call:
    method: str
    endpoint: str
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    raw: bool = False


class WeComClient:
    """Send messages, update cards, move media, read users, exchange OAuth codes."""

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        redis_client: redis.Redis,
        key_prefix: str = "",
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
        media_timeout: float = 60.0,
        max_retries: int = 3,
        throttle_delay: float = 60.0,
        busy_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.media_timeout = media_timeout
        self.max_retries = max_retries
        self.throttle_delay = throttle_delay
        self.busy_delay = busy_delay
        self._sleep = sleep
        self._transport = WeChatpyTransport(
            corp_id, secret, api_base=self.api_base, timeout=timeout
        )
        secret_id = hashlib.sha256(f"{corp_id}:{secret}".encode()).hexdigest()[:16]
        self._tokens = TokenCache(
            redis_client,
            f"{key_prefix}wecom:access_token:{secret_id}",
            self._transport.fetch_access_token,
            lock_seconds=max(30.0, 3 * timeout),
        )

    # -- the call loop --------------------------------------------------------------------

    def _call(self, call: _Call) -> Any:
        refreshed = False
        attempt = 0
        while True:
            token = ""
            try:
                token = self._tokens.get()
                send = self._transport.get if call.method == "get" else self._transport.post
                return send(
                    call.endpoint,
                    params={**call.params, "access_token": token},
                    data=call.data,
                    files=call.files,
                    raw=call.raw,
                    stream=call.raw,
                    timeout=self.media_timeout if (call.raw or call.files) else self.timeout,
                )
            except WeComAPIError as exc:
                log.info("wecom_api_error", endpoint=call.endpoint, errcode=exc.errcode)
                if exc.errcode in TOKEN_ERRORS and token and not refreshed:
                    refreshed = True
                    self._tokens.refresh(stale=token)
                    continue
                if exc.errcode in THROTTLE_ERRORS and attempt < self.max_retries:
                    delay = self.throttle_delay if exc.errcode == 45009 else self.busy_delay
                    self._sleep(delay * (2**attempt))
                    attempt += 1
                    continue
                raise

    def access_token(self) -> str:
        """The shared access token (fetched if none is cached)."""
        return self._tokens.get()

    # -- sending --------------------------------------------------------------------------

    def send(
        self,
        userids: str | Sequence[str],
        message: dict[str, Any],
        *,
        enable_duplicate_check: bool = False,
        duplicate_check_interval: int = 1800,
    ) -> SendResult:
        """message/send with ``message`` = ``{"msgtype": t, t: {...}}`` to up to 1,000 people."""
        msgtype = message.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in message:
            raise ValueError("message must be {'msgtype': type, type: body}")
        body: dict[str, Any] = {
            **message,
            "touser": _join_users(userids),
            "agentid": self.agent_id,
        }
        if enable_duplicate_check:
            if not 0 < duplicate_check_interval <= MAX_DUPLICATE_CHECK_INTERVAL:
                raise ValueError("duplicate_check_interval must be between 1 s and 4 h")
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = duplicate_check_interval
        data = self._call(_Call("post", "message/send", data=body))
        result = SendResult.from_response(data)
        log.info(
            "wecom_sent",
            msgtype=msgtype,
            recipients=body["touser"].count("|") + 1,
            invalid=len(result.invalid_users),
        )
        return result

    def send_text(self, userids: str | Sequence[str], content: str, **options: Any) -> SendResult:
        check_content(content)
        return self.send(userids, {"msgtype": "text", "text": {"content": content}}, **options)

    def send_markdown(
        self, userids: str | Sequence[str], content: str, **options: Any
    ) -> SendResult:
        check_content(content)
        message = {"msgtype": "markdown", "markdown": {"content": content}}
        return self.send(userids, message, **options)

    def send_textcard(
        self,
        userids: str | Sequence[str],
        *,
        title: str,
        description: str,
        url: str,
        btntxt: str = "详情",
        **options: Any,
    ) -> SendResult:
        check_content(title, limit=128, what="title")
        check_content(description, limit=512, what="description")
        card = {"title": title, "description": description, "url": url, "btntxt": btntxt}
        return self.send(userids, {"msgtype": "textcard", "textcard": card}, **options)

    def send_news(
        self, userids: str | Sequence[str], articles: Sequence[NewsArticle], **options: Any
    ) -> SendResult:
        if not 1 <= len(articles) <= 8:
            raise ValueError("news needs 1 to 8 articles")
        items = [
            {"title": a.title, "description": a.description, "url": a.url, "picurl": a.picurl}
            for a in articles
        ]
        return self.send(userids, {"msgtype": "news", "news": {"articles": items}}, **options)

    def send_image(self, userids: str | Sequence[str], media_id: str, **options: Any) -> SendResult:
        message = {"msgtype": "image", "image": {"media_id": media_id}}
        return self.send(userids, message, **options)

    def send_file(self, userids: str | Sequence[str], media_id: str, **options: Any) -> SendResult:
        return self.send(userids, {"msgtype": "file", "file": {"media_id": media_id}}, **options)

    def send_template_card(
        self, userids: str | Sequence[str], card: dict[str, Any], **options: Any
    ) -> SendResult:
        """A card from :mod:`bot.wecom.cards`; interactive cards answer a response_code."""
        message = {"msgtype": "template_card", "template_card": card}
        return self.send(userids, message, **options)

    def update_template_card(
        self,
        userids: Sequence[str],
        response_code: str,
        card: dict[str, Any] | None = None,
        *,
        replace_name: str | None = None,
    ) -> SendResult:
        """Replace a tapped card (``card``) or only its button text (``replace_name``)."""
        if (card is None) == (replace_name is None):
            raise ValueError("give exactly one of card and replace_name")
        if not response_code:
            raise ValueError("response_code must not be empty")
        body: dict[str, Any] = {
            "userids": _user_list(userids),
            "agentid": self.agent_id,
            "response_code": response_code,
        }
        if card is not None:
            body["template_card"] = card
        else:
            body["button"] = {"replace_name": replace_name}
        data = self._call(_Call("post", "message/update_template_card", data=body))
        return SendResult.from_response(data)

    # -- media ----------------------------------------------------------------------------

    def upload_media(self, media_type: str, filename: str, content: bytes) -> str:
        """Upload temporary media (valid 3 days); returns the media_id."""
        if media_type not in MEDIA_TYPES:
            raise ValueError(f"media type must be one of {', '.join(MEDIA_TYPES)}")
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        files = {"media": (filename, content, content_type)}
        data = self._call(_Call("post", "media/upload", {"type": media_type}, files=files))
        media_id = str(data.get("media_id") or "")
        if not media_id:
            raise WeComNetworkError("media/upload answered without a media_id")
        return media_id

    def download_media(self, media_id: str) -> DownloadedMedia:
        """Fetch temporary media at our API base, with a timeout and an errcode check."""
        res = self._call(_Call("get", "media/get", {"media_id": media_id}, raw=True))
        try:
            content = read_limited(res, MAX_DOWNLOAD_BYTES)
        finally:
            res.close()
        content_type = res.headers.get("Content-Type", "application/octet-stream")
        return DownloadedMedia(
            content, content_type.split(";")[0].strip(), _filename(res.headers, media_id)
        )

    # -- people, OAuth, menu --------------------------------------------------------------

    def get_user(self, userid: str) -> dict[str, Any]:
        data = self._call(_Call("get", "user/get", {"userid": userid}))
        return {k: v for k, v in data.items() if k not in ("errcode", "errmsg")}

    def get_userinfo_by_code(self, code: str) -> OAuthUser:
        """Exchange an in-app OAuth code (the current /cgi-bin/auth/getuserinfo path)."""
        data = self._call(_Call("get", "auth/getuserinfo", {"code": code}))
        userid = data.get("userid") or data.get("UserId")
        openid = data.get("openid") or data.get("OpenId")
        return OAuthUser(userid=str(userid) if userid else None, openid=openid or None)

    def create_menu(self, menu: dict[str, Any]) -> None:
        self._call(_Call("post", "menu/create", {"agentid": self.agent_id}, data=menu))


# -- helpers ------------------------------------------------------------------------------


def _user_list(userids: str | Iterable[str]) -> list[str]:
    users = [userids] if isinstance(userids, str) else list(dict.fromkeys(userids))
    if not users:
        raise ValueError("no recipients")
    if len(users) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients per call")
    for user in users:
        if not user or "|" in user:
            raise ValueError("a userid must be non-empty and cannot contain '|'")
    return users


def _join_users(userids: str | Sequence[str]) -> str:
    return "|".join(_user_list(userids))


def _id_list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(part for part in value.split("|") if part)
    if isinstance(value, list):
        return tuple(str(part) for part in value if part != "")
    return ()


def _filename(headers: Any, fallback: str) -> str:
    disposition = headers.get("Content-Disposition", "")
    parsed = MimeHeaders()
    parsed["Content-Disposition"] = disposition
    name = parsed.get_filename() or ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or fallback
