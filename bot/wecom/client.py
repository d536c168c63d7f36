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
import json
import mimetypes
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message as MimeHeaders
from typing import Any, NamedTuple

import redis
import requests
import structlog
from wechatpy.enterprise import WeChatClient

from bot.wecom.cards import check_content

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
MAX_RECIPIENTS = 1000
MAX_DUPLICATE_CHECK_INTERVAL = 4 * 3600
MEDIA_TYPES = ("image", "voice", "video", "file")
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024

TOKEN_ERRORS = frozenset({40014, 42001})
THROTTLE_ERRORS = frozenset({45009, -1})

log = structlog.get_logger("bot.wecom.client")


class WeComError(Exception):
    """Any failure talking to WeCom."""


class WeComAPIError(WeComError):
    """WeCom answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(f"WeCom error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.response = response or {}


class WeComNetworkError(WeComError):
    """No usable answer: connection refused, HTTP error status, not JSON, too large."""


class WeComTimeout(WeComNetworkError):
    """The call did not complete within its timeout."""


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


class _WeChatpyTransport(WeChatClient):
    """wechatpy's enterprise client, made to honour ``api_base`` and timeouts everywhere.

    Tokens never come from here: every call carries the token WeComClient passes in.
    """

    def __init__(self, corp_id: str, secret: str, *, api_base: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{api_base}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        """gettoken at our API base, with a timeout (wechatpy hard-codes the host)."""
        return self.get("gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        if url_or_endpoint.startswith(("http://", "https://")):
            raise ValueError("only endpoints relative to the API base are allowed")
        kwargs.pop("api_base_url", None)
        raw = kwargs.pop("raw", False)
        if url_or_endpoint != "gettoken" and "access_token" not in (kwargs.get("params") or {}):
            raise ValueError("every call carries the access token WeComClient passes in")
        url = self.API_BASE_URL + url_or_endpoint.lstrip("/")
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = json.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json; charset=utf-8"
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        try:
            res = self._http.request(method=method, url=url, **kwargs)
        except requests.Timeout:
            raise WeComTimeout(f"{url_or_endpoint}: timed out") from None
        except requests.RequestException as exc:
            raise WeComNetworkError(f"{url_or_endpoint}: {type(exc).__name__}") from None
        if res.status_code != 200:
            res.close()
            raise WeComNetworkError(f"{url_or_endpoint}: HTTP {res.status_code}")
        if raw and res.headers.get("Content-Disposition"):
            return res  # media; an error answer is JSON without a Content-Disposition
        try:
            return self._handle_result(_read_json(res, url_or_endpoint))
        finally:
            res.close()

    def _handle_result(self, res: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(res, dict):
            raise WeComNetworkError("answer is not a JSON object")
        errcode = _int(res.get("errcode", 0))
        if errcode != 0:
            raise WeComAPIError(errcode, str(res.get("errmsg", "")), res)
        return res


class _TokenCache:
    """The access token in Redis, shared by every process; refreshed by one at a time."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        fetch: Callable[[], dict[str, Any]],
        *,
        lock_seconds: float,
        wait_polls: int = 300,
        poll_interval: float = 0.05,
        margin: int = 300,
    ) -> None:
        self.redis = client
        self.key = key
        self.lock_key = key + ":lock"
        self.fetch = fetch
        self.lock_ms = int(lock_seconds * 1000)
        self.wait_polls = wait_polls
        self.poll_interval = poll_interval
        self.margin = margin

    def _cached(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def get(self) -> str:
        return self._cached() or self.refresh(stale=None)

    def refresh(self, stale: str | None) -> str:
        """A token other than ``stale``: someone else's fresh one, or one we fetch."""
        owner = secrets.token_hex(16)
        for _ in range(self.wait_polls):
            current = self._cached()
            if current and current != stale:
                return current
            if self.redis.set(self.lock_key, owner, nx=True, px=self.lock_ms):
                try:
                    return self._fetch_locked(stale)
                finally:
                    self._release(owner)
            time.sleep(self.poll_interval)
        raise WeComNetworkError("timed out waiting for another process to refresh the token")

    def _fetch_locked(self, stale: str | None) -> str:
        current = self._cached()
        if current and current != stale:
            return current
        result = self.fetch()
        token = str(result.get("access_token") or "")
        if not token:
            raise WeComNetworkError("gettoken answered without an access_token")
        expires_in = _int(result.get("expires_in", 7200)) or 7200
        ttl = expires_in - self.margin if expires_in > 2 * self.margin else max(1, expires_in // 2)
        self.redis.set(self.key, token, ex=ttl)
        log.info("wecom_token_refreshed", ttl=ttl)
        return token

    def _release(self, owner: str) -> None:
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(self.lock_key)
                value = pipe.get(self.lock_key)
                if (value.decode() if isinstance(value, bytes) else value) == owner:
                    pipe.multi()
                    pipe.delete(self.lock_key)
                    pipe.execute()
                else:
                    pipe.unwatch()
            except redis.WatchError:
                pass


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
        self._transport = _WeChatpyTransport(
            corp_id, secret, api_base=self.api_base, timeout=timeout
        )
        secret_id = hashlib.sha256(f"{corp_id}:{secret}".encode()).hexdigest()[:16]
        self._tokens = _TokenCache(
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
            content = _read_limited(res, MAX_DOWNLOAD_BYTES)
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


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -999


def _read_json(res: requests.Response, endpoint: str) -> Any:
    try:
        return json.loads(_read_limited(res, MAX_DOWNLOAD_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WeComNetworkError(f"{endpoint}: answer is not JSON") from None


def _read_limited(res: requests.Response, limit: int) -> bytes:
    chunks = []
    size = 0
    try:
        for chunk in res.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise WeComNetworkError("answer too large")
            chunks.append(chunk)
    except requests.Timeout:
        raise WeComTimeout("timed out reading the answer") from None
    except requests.RequestException as exc:
        raise WeComNetworkError(f"reading the answer failed: {type(exc).__name__}") from None
    return b"".join(chunks)


def _filename(headers: Any, fallback: str) -> str:
    disposition = headers.get("Content-Disposition", "")
    parsed = MimeHeaders()
    parsed["Content-Disposition"] = disposition
    name = parsed.get_filename() or ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or fallback
