"""A fake WeCom API: the parts of qyapi.weixin.qq.com the bot uses, in memory.

It behaves like the real API where it matters, and is as strict as WeCom wherever we know its
rules: gettoken with expiry, 40014/42001 on a bad or expired token, 60020 for a caller outside
the app's trusted IPs (``trusted_ips``), message/send with validation of every message type and
of card structure (card_action.type 1 or 2; no interactive card without the app's
``callback_url``), user ids case-insensitive, ``invaliduser`` (lower-cased) for unknown people
and people outside the visible range (:meth:`FakeWeCom.leave_out_of_range`; 81013 when nobody
is reachable), identical content dropped inside ``duplicate_check_interval`` when the send asks
the check, 42014 on an empty or reused task_id, a response_code for interactive cards that
update_template_card accepts once, media upload/get, user/get, the OAuth authorize redirect
(``state`` at most 128 bytes of a-zA-Z0-9) and auth/getuserinfo (codes single-use, 5 minutes),
menu/create.

Tests and the chat page read what was delivered with :meth:`FakeWeCom.sent_to` and make the
API misbehave with :meth:`FakeWeCom.inject_fault` (an errcode such as 45009, or a hang).

    state = FakeWeCom(corp_id="ww1", secret="s", agent_id=1000002)
    state.add_user("zhangsan", "张三")
    with FakeWeComServer(state) as server:      # a real HTTP server on 127.0.0.1
        client = WeComClient(..., api_base=server.base_url)

What WeCom refuses is in :mod:`api_rules`, messages and cards in :mod:`fake_messages`, the HTTP
side in :mod:`api_server`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Any

from bot.devtools.simulator.api_rules import (
    MAX_CONTENT_BYTES,
    MAX_RECIPIENTS,
    MEDIA_LIMITS,
    ApiError,
    json_body,
    require_str,
    validate_menu,
)
from bot.devtools.simulator.directory_api import DIRECTORY_HANDLERS, FakeDirectory
from bot.devtools.simulator.fake_messages import Delivered, FakeMessaging, duplicate_check_of

TOKEN_TTL = 7200
OAUTH_CODE_TTL = 300
MEDIA_TTL = 3 * 24 * 3600


@dataclass(frozen=True)
class StoredMedia:
    media_id: str
    media_type: str
    filename: str
    content_type: str
    content: bytes
    expires_at: float


@dataclass
class _Fault:
    endpoint: str
    errcode: int | None
    errmsg: str
    hang: bool
    remaining: int


class FakeWeCom:
    """In-memory, thread-safe state of one fake WeCom company with one self-built app."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        *,
        clock: Callable[[], float] = time.time,
        token_ttl: int = TOKEN_TTL,
        hang_seconds: float = 30.0,
        callback_url: str | None = None,
        trusted_ips: str = "",
    ) -> None:
        """``callback_url``: the app's 接收消息 URL (without one WeCom sends no interactive
        card); ``trusted_ips``: the app's 企业可信IP, comma-separated addresses or networks
        ("" = any caller; otherwise any other caller gets 60020)."""
        self.corp_id = corp_id
        self.callback_url = callback_url
        self.trusted = [ip_network(part.strip()) for part in trusted_ips.split(",") if part.strip()]
        self.secret = secret
        self.agent_id = int(agent_id)
        self.clock = clock
        self.token_ttl = token_ttl
        self.hang_seconds = hang_seconds
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._users: dict[str, dict[str, Any]] = {}  # by lower-cased userid (case-insensitive)
        self._tokens: dict[str, float] = {}
        self._oauth_codes: dict[str, tuple[str, float]] = {}
        self._media: dict[str, StoredMedia] = {}
        self._messages = FakeMessaging(clock, self._validate_message, lambda: self.callback_url)
        self._faults: list[_Fault] = []
        self._calls: list[str] = []
        self._bodies: dict[str, dict[str, Any]] = {}
        self.menu: dict[str, Any] | None = None
        self.directory = FakeDirectory()  # departments, visible range, agent/get settings

    # -- the test side --------------------------------------------------------------------

    def add_user(self, userid: str, name: str, **extra: Any) -> None:
        with self._lock:
            self._users[userid.lower()] = {"userid": userid, "name": name, **extra}

    def remove_user(self, userid: str) -> None:
        with self._lock:
            self._users.pop(userid.lower(), None)

    def rename_user(self, userid: str, new_userid: str) -> None:
        """The contact book changes a member's userid (WeCom allows it once)."""
        with self._lock:
            user = self._users.pop(userid.lower(), None)
            if user is not None:
                self._users[new_userid.lower()] = {**user, "userid": new_userid}

    def leave_out_of_range(self, *userids: str) -> None:
        """Leave members out of the app's visible range (可见范围): they stay in the contact
        book, but a message to them fails (invaliduser; 81013 when nobody is reachable)."""
        with self._lock:
            self.directory.left_out.update(userid.lower() for userid in userids)

    def sent_to(self, userid: str) -> list[Delivered]:
        """Everything delivered to ``userid``, oldest first (card updates included)."""
        with self._lock:
            user = self._users.get(userid.lower())
            return self._messages.sent_to(user["userid"] if user else userid)

    def issue_oauth_code(self, userid: str) -> str:
        """A code as the OAuth redirect would carry it: single use, valid 5 minutes."""
        with self._lock:
            code = secrets.token_urlsafe(24)
            self._oauth_codes[code] = (userid, self.clock() + OAUTH_CODE_TTL)
            return code

    def issue_response_code(self, userid: str, task_id: str) -> str:
        """The ResponseCode a tap on card ``task_id`` by ``userid`` would carry."""
        with self._lock:
            return self._messages.issue_response_code(userid, task_id)

    def store_media(self, content: bytes, filename: str, content_type: str, media_type: str) -> str:
        """Put media in the store as if a person had sent it; returns its MediaId."""
        with self._lock:
            media_id = "fake-" + secrets.token_urlsafe(24)
            self._media[media_id] = StoredMedia(
                media_id,
                media_type,
                filename,
                content_type,
                content,
                self.clock() + MEDIA_TTL,
            )
            return media_id

    def inject_fault(
        self,
        endpoint: str = "*",
        *,
        errcode: int | None = None,
        hang: bool = False,
        times: int = 1,
        errmsg: str = "",
    ) -> None:
        """Make the next ``times`` calls of ``endpoint`` (``"*"`` = any) answer ``errcode``
        (45009, -1, …) or hang until :meth:`release_hangs` or ``hang_seconds``."""
        if (errcode is None) == (not hang):
            raise ValueError("give an errcode or hang=True")
        with self._lock:
            self._faults.append(_Fault(endpoint, errcode, errmsg or "injected", hang, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def release_hangs(self) -> None:
        """Let every call hanging now answer (later faults hang again)."""
        self._release.set()
        self._release.clear()

    def expire_tokens(self) -> None:
        """Every issued token expires now (the next call gets 42001)."""
        with self._lock:
            now = self.clock()
            self._tokens = dict.fromkeys(self._tokens, now - 1)

    def expire_response_codes(self) -> None:
        """Every card's response_code expires now, as 72 hours after its send (60140)."""
        with self._lock:
            self._messages.expire_response_codes()

    def revoke_tokens(self) -> None:
        """Forget every issued token (the next call gets 40014)."""
        with self._lock:
            self._tokens.clear()

    def calls(self, endpoint: str | None = None) -> list[str]:
        with self._lock:
            return [call for call in self._calls if endpoint in (None, call)]

    def last_body(self, endpoint: str) -> dict[str, Any] | None:
        """The JSON body of the last accepted call of ``endpoint`` (tests only)."""
        with self._lock:
            return self._bodies.get(endpoint)

    def media(self, media_id: str) -> StoredMedia | None:
        with self._lock:
            return self._media.get(media_id)

    # -- request handling -----------------------------------------------------------------

    def handle(
        self, endpoint: str, args: dict[str, str], body: bytes, files: Any, caller: str = ""
    ) -> Any:
        """Answer one API call from address ``caller``: a JSON-able dict, or a StoredMedia for
        media/get."""
        if not self._trusts(caller):
            with self._lock:
                self._calls.append(endpoint)
            return ApiError(60020, f"not allow to access from your ip, from ip: {caller}").body()
        fault = self._take_fault(endpoint)
        if fault is not None and fault.hang:
            self._release.wait(self.hang_seconds)
        elif fault is not None:
            return ApiError(fault.errcode or -1, fault.errmsg).body()
        handler = _HANDLERS.get(endpoint)
        if handler is None:
            return ApiError(40058, f"unknown api {endpoint}").body()
        try:
            with self._lock:
                if endpoint != "gettoken":
                    self._check_token(args.get("access_token", ""))
                answer = handler(self, args, body, files)
                if body:
                    self._bodies[endpoint] = json.loads(body)
                return answer
        except ApiError as error:
            return error.body()

    def _trusts(self, caller: str) -> bool:
        if not self.trusted:
            return True
        try:
            address = ip_address(caller)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def _take_fault(self, endpoint: str) -> _Fault | None:
        with self._lock:
            self._calls.append(endpoint)
            for fault in self._faults:
                if fault.endpoint in ("*", endpoint) and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def _check_token(self, token: str) -> None:
        if not token:
            raise ApiError(41001, "access_token missing")
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise ApiError(40014, "invalid access_token")
        if expires_at <= self.clock():
            raise ApiError(42001, "access_token expired")

    # -- endpoints ------------------------------------------------------------------------

    def _gettoken(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        if args.get("corpid") != self.corp_id:
            raise ApiError(40013, "invalid corpid")
        if not secrets.compare_digest(args.get("corpsecret", ""), self.secret):
            raise ApiError(40001, "invalid credential")
        token = secrets.token_urlsafe(48)
        self._tokens[token] = self.clock() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}

    def _message_send(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        data = json_body(body)
        self._check_agent(data.get("agentid"))
        msgtype, content = self._messages.check(data)
        valid, invalid = self._recipients(data.get("touser"))
        return self._messages.send(msgtype, content, valid, invalid, duplicate_check_of(data))

    def _update_template_card(self, args: dict[str, str], body: bytes, files: Any) -> Any:
        data = json_body(body)
        self._check_agent(data.get("agentid"))
        return self._messages.update(data)

    def _media_upload(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        media_type = args.get("type", "")
        if media_type not in MEDIA_LIMITS:
            raise ApiError(40004, "invalid media type")
        upload = files.get("media") if files is not None else None
        if upload is None:
            raise ApiError(41004, "media file missing")
        content = upload.read(MEDIA_LIMITS[media_type] + 1)
        if len(content) <= 5 or len(content) > MEDIA_LIMITS[media_type]:
            raise ApiError(40006, "invalid file size")
        if media_type == "image" and not content.startswith((b"\x89PNG", b"\xff\xd8\xff")):
            raise ApiError(40005, "invalid file type")
        filename = upload.filename or "media"
        content_type = upload.mimetype or "application/octet-stream"
        media_id = self.store_media(content, filename, content_type, media_type)
        created = str(int(self.clock()))
        return {
            "errcode": 0,
            "errmsg": "",
            "type": media_type,
            "media_id": media_id,
            "created_at": created,
        }

    def _media_get(self, args: dict[str, str], body: bytes, files: Any) -> Any:
        media = self._media.get(args.get("media_id", ""))
        if media is None or media.expires_at <= self.clock():
            raise ApiError(40007, "invalid media_id")
        return media

    def _getuserinfo(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        entry = self._oauth_codes.pop(args.get("code", ""), None)
        if entry is None or entry[1] <= self.clock():
            raise ApiError(40029, "invalid code")
        userid = entry[0]
        if userid.lower() not in self._users:
            return {"errcode": 0, "errmsg": "ok", "openid": "o" + secrets.token_hex(8)}
        return {"errcode": 0, "errmsg": "ok", "userid": userid}

    def _menu_create(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        self._check_agent(args.get("agentid"))
        menu = json_body(body)
        validate_menu(menu)
        self.menu = menu
        return {"errcode": 0, "errmsg": "ok"}

    # -- validation helpers ---------------------------------------------------------------

    def _check_agent(self, agent_id: Any) -> None:
        try:
            matches = int(agent_id) == self.agent_id
        except (TypeError, ValueError):
            matches = False
        if not matches:
            raise ApiError(40056, "invalid agentid")

    def _recipients(self, touser: Any) -> tuple[list[str], list[str]]:
        if not isinstance(touser, str) or not touser:
            raise ApiError(40031, "touser is required")
        visible = self.directory.visibility()  # outside the app's visible range: invaliduser
        if touser == "@all":
            return sorted(u["userid"] for u in self._users.values() if visible(u)), []
        users = list(dict.fromkeys(touser.split("|")))
        if len(users) > MAX_RECIPIENTS:
            raise ApiError(40031, "too many users, at most 1000")
        # ids are case-insensitive: a message reaches the account whatever the case it was sent
        # with, and WeCom answers invaliduser lower-cased
        reachable = {key for key, user in self._users.items() if visible(user)}
        valid = [self._users[user.lower()]["userid"] for user in users if user.lower() in reachable]
        return valid, [user.lower() for user in users if user.lower() not in reachable]

    def _validate_message(self, msgtype: str, content: dict[str, Any]) -> None:
        if msgtype in ("text", "markdown"):
            text = content.get("content")
            if not isinstance(text, str) or not text:
                raise ApiError(44004, "empty content")
            if len(text.encode("utf-8")) > MAX_CONTENT_BYTES:
                raise ApiError(45002, "content size out of limit")
        elif msgtype == "textcard":
            for name in ("title", "description", "url"):
                require_str(content, name, "textcard")
        elif msgtype == "news":
            articles = content.get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise ApiError(40058, "news.articles must hold 1 to 8 articles")
            for article in articles:
                if not isinstance(article, dict):
                    raise ApiError(40058, "news article must be an object")
                require_str(article, "title", "news article")
        else:
            media_id = content.get("media_id")
            media = self._media.get(media_id) if isinstance(media_id, str) else None
            if media is None or media.expires_at <= self.clock():
                raise ApiError(40007, "invalid media_id")


_HANDLERS: dict[str, Callable[..., Any]] = {
    "gettoken": FakeWeCom._gettoken,
    "message/send": FakeWeCom._message_send,
    "message/update_template_card": FakeWeCom._update_template_card,
    "media/upload": FakeWeCom._media_upload,
    "media/get": FakeWeCom._media_get,
    "auth/getuserinfo": FakeWeCom._getuserinfo,
    "menu/create": FakeWeCom._menu_create,
    **DIRECTORY_HANDLERS,  # agent/get, department/list, user/list, user/get, menu/get…
}
