"""A fake WeCom API: the parts of qyapi.weixin.qq.com the bot uses, in memory.

It behaves like the real API where it matters: gettoken with expiry, 40014/42001 on a bad or
expired token, message/send with validation of every message type and of card structure,
``invaliduser`` for unknown people, 42014 on an empty or reused task_id, a response_code for
interactive cards that update_template_card accepts once, media upload/get, user/get, the
OAuth authorize redirect and auth/getuserinfo (codes single-use, 5 minutes), menu/create.

Tests and the chat page read what was delivered with :meth:`FakeWeCom.sent_to` and make the
API misbehave with :meth:`FakeWeCom.inject_fault` (an errcode such as 45009, or a hang).

    state = FakeWeCom(corp_id="ww1", secret="s", agent_id=1000002)
    state.add_user("zhangsan", "张三")
    with FakeWeComServer(state) as server:      # a real HTTP server on 127.0.0.1
        client = WeComClient(..., api_base=server.base_url)
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from flask import Blueprint, Flask, Response, redirect, request
from werkzeug.serving import BaseWSGIServer, make_server

from bot.devtools.simulator.directory_api import DIRECTORY_HANDLERS, FakeDirectory

TOKEN_TTL = 7200
OAUTH_CODE_TTL = 300
RESPONSE_CODE_TTL = 72 * 3600
MEDIA_TTL = 3 * 24 * 3600
MAX_RECIPIENTS = 1000
MAX_CONTENT_BYTES = 2048

MSG_TYPES = ("text", "markdown", "textcard", "news", "image", "file", "voice", "video")
CARD_TYPES = (
    "text_notice",
    "news_notice",
    "button_interaction",
    "vote_interaction",
    "multiple_interaction",
)
INTERACTIVE = ("button_interaction", "vote_interaction", "multiple_interaction")
MEDIA_LIMITS = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")


class ApiError(Exception):
    """An errcode answer (HTTP 200, like WeCom)."""

    def __init__(self, errcode: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": self.errmsg, **self.extra}


@dataclass(frozen=True)
class Delivered:
    """One message as a person's WeCom client received it.

    ``msgtype`` is the message type, or ``update_template_card`` for a card replaced after a
    tap (then ``replaces`` is the msgid of the card it replaces and ``content`` is either the
    new card or ``{"replace_name": …}``).
    """

    msgid: str
    userid: str
    msgtype: str
    content: dict[str, Any]
    sent_at: float
    task_id: str = ""
    response_code: str = ""
    replaces: str = ""


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


@dataclass
class _ResponseCode:
    task_id: str
    msgid: str
    userids: frozenset[str]
    expires_at: float
    used: bool = False


@dataclass
class _Card:
    msgid: str
    task_id: str
    card: dict[str, Any]
    recipients: frozenset[str]
    per_user_msgid: dict[str, str] = field(default_factory=dict)


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
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = int(agent_id)
        self.clock = clock
        self.token_ttl = token_ttl
        self.hang_seconds = hang_seconds
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._users: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, float] = {}
        self._oauth_codes: dict[str, tuple[str, float]] = {}
        self._response_codes: dict[str, _ResponseCode] = {}
        self._cards: dict[str, _Card] = {}  # by task_id
        self._task_ids: set[str] = set()
        self._media: dict[str, StoredMedia] = {}
        self._delivered: dict[str, list[Delivered]] = {}
        self._faults: list[_Fault] = []
        self._calls: list[str] = []
        self._bodies: dict[str, dict[str, Any]] = {}
        self.menu: dict[str, Any] | None = None
        self.directory = FakeDirectory()  # departments, visible range, agent/get settings

    # -- the test side --------------------------------------------------------------------

    def add_user(self, userid: str, name: str, **extra: Any) -> None:
        with self._lock:
            self._users[userid] = {"userid": userid, "name": name, **extra}

    def remove_user(self, userid: str) -> None:
        with self._lock:
            self._users.pop(userid, None)

    def sent_to(self, userid: str) -> list[Delivered]:
        """Everything delivered to ``userid``, oldest first (card updates included)."""
        with self._lock:
            return list(self._delivered.get(userid, ()))

    def issue_oauth_code(self, userid: str) -> str:
        """A code as the OAuth redirect would carry it: single use, valid 5 minutes."""
        with self._lock:
            code = secrets.token_urlsafe(24)
            self._oauth_codes[code] = (userid, self.clock() + OAUTH_CODE_TTL)
            return code

    def issue_response_code(self, userid: str, task_id: str) -> str:
        """The ResponseCode a tap on card ``task_id`` by ``userid`` would carry."""
        with self._lock:
            card = self._cards.get(task_id)
            if card is None or userid not in card.recipients:
                raise KeyError(f"{userid} has no card {task_id}")
            return self._new_response_code(task_id, card.msgid, frozenset({userid}))

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

    def handle(self, endpoint: str, args: dict[str, str], body: bytes, files: Any) -> Any:
        """Answer one API call: a JSON-able dict, or a StoredMedia for media/get."""
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

    def _new_response_code(self, task_id: str, msgid: str, userids: frozenset[str]) -> str:
        code = secrets.token_urlsafe(32)
        expires_at = self.clock() + RESPONSE_CODE_TTL
        self._response_codes[code] = _ResponseCode(task_id, msgid, userids, expires_at)
        return code

    def _deliver(self, item: Delivered) -> None:
        self._delivered.setdefault(item.userid, []).append(item)

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
        data = _json_body(body)
        self._check_agent(data.get("agentid"))
        msgtype = data.get("msgtype")
        if msgtype not in (*MSG_TYPES, "template_card"):
            raise ApiError(40008, "invalid message type")
        content = data.get(msgtype)
        if not isinstance(content, dict):
            raise ApiError(40058, f"{msgtype} is required")
        if msgtype == "template_card":
            _validate_card(content)
        else:
            self._validate_message(msgtype, content)
        _check_duplicate_options(data)
        valid, invalid = self._recipients(data.get("touser"))
        if not valid:
            raise ApiError(81013, "user & party & tag all invalid", invaliduser="|".join(invalid))
        task_id = content.get("task_id", "") if msgtype == "template_card" else ""
        if msgtype == "template_card":
            self._claim_task_id(content)
        msgid = secrets.token_urlsafe(16)
        response_code = ""
        if msgtype == "template_card" and content["card_type"] in INTERACTIVE:
            response_code = self._new_response_code(task_id, msgid, frozenset(valid))
        if task_id:
            self._cards[task_id] = _Card(msgid, task_id, content, frozenset(valid))
        now = self.clock()
        for userid in valid:
            delivered = Delivered(msgid, userid, msgtype, content, now, task_id, response_code)
            self._deliver(delivered)
        answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": msgid}
        if response_code:
            answer["response_code"] = response_code
        return answer

    def _update_template_card(self, args: dict[str, str], body: bytes, files: Any) -> Any:
        data = _json_body(body)
        self._check_agent(data.get("agentid"))
        code = self._response_codes.get(str(data.get("response_code") or ""))
        if code is None or code.expires_at <= self.clock():
            raise ApiError(40058, "invalid response_code")
        if code.used:
            raise ApiError(40058, "response_code has been used")
        userids = data.get("userids")
        if not isinstance(userids, list) or not userids:
            raise ApiError(40058, "userids is required")
        if not all(isinstance(user, str) for user in userids):
            raise ApiError(40058, "userids must be strings")
        if "template_card" in data:
            content = data["template_card"]
            if not isinstance(content, dict):
                raise ApiError(40058, "template_card must be an object")
            _validate_card(content)
            if content.get("task_id", code.task_id) != code.task_id:
                raise ApiError(40058, "template_card.task_id does not match the response_code")
        elif isinstance(data.get("button"), dict) and data["button"].get("replace_name"):
            content = {"replace_name": str(data["button"]["replace_name"])}
        else:
            raise ApiError(40058, "template_card or button.replace_name is required")
        code.used = True
        valid = [user for user in userids if user in code.userids]
        invalid = [str(user) for user in userids if user not in code.userids]
        now = self.clock()
        for userid in valid:
            self._deliver(
                Delivered(
                    secrets.token_urlsafe(16),
                    userid,
                    "update_template_card",
                    content,
                    now,
                    code.task_id,
                    replaces=code.msgid,
                )
            )
        return {"errcode": 0, "errmsg": "ok", "invaliduser": invalid}

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
        if userid not in self._users:
            return {"errcode": 0, "errmsg": "ok", "openid": "o" + secrets.token_hex(8)}
        return {"errcode": 0, "errmsg": "ok", "userid": userid}

    def _menu_create(self, args: dict[str, str], body: bytes, files: Any) -> dict[str, Any]:
        self._check_agent(args.get("agentid"))
        menu = _json_body(body)
        _validate_menu(menu)
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
            return sorted(u for u, user in self._users.items() if visible(user)), []
        users = list(dict.fromkeys(touser.split("|")))
        if len(users) > MAX_RECIPIENTS:
            raise ApiError(40031, "too many users, at most 1000")
        valid = {user for user in users if user in self._users and visible(self._users[user])}
        return [u for u in users if u in valid], [u for u in users if u not in valid]

    def _claim_task_id(self, card: dict[str, Any]) -> None:
        task_id = card.get("task_id")
        if task_id is None and card["card_type"] not in INTERACTIVE:
            return
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            raise ApiError(42014, "invalid task_id")
        if task_id in self._task_ids:
            raise ApiError(42014, "task_id has been used")
        self._task_ids.add(task_id)

    def _validate_message(self, msgtype: str, content: dict[str, Any]) -> None:
        if msgtype in ("text", "markdown"):
            text = content.get("content")
            if not isinstance(text, str) or not text:
                raise ApiError(44004, "empty content")
            if len(text.encode("utf-8")) > MAX_CONTENT_BYTES:
                raise ApiError(45002, "content size out of limit")
        elif msgtype == "textcard":
            for name in ("title", "description", "url"):
                _require_str(content, name, "textcard")
        elif msgtype == "news":
            articles = content.get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise ApiError(40058, "news.articles must hold 1 to 8 articles")
            for article in articles:
                if not isinstance(article, dict):
                    raise ApiError(40058, "news article must be an object")
                _require_str(article, "title", "news article")
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


# -- card and menu structure --------------------------------------------------------------


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(47001, "data format error") from None
    if not isinstance(data, dict):
        raise ApiError(47001, "data format error")
    return data


def _require_str(obj: Any, name: str, where: str, *, max_bytes: int | None = None) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value:
        raise ApiError(40058, f"{where}.{name} is required")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise ApiError(40058, f"{where}.{name} is too long")
    return value


def _require_list(obj: dict[str, Any], name: str, where: str, low: int, high: int) -> list[Any]:
    value = obj.get(name)
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise ApiError(40058, f"{where}.{name} must hold {low} to {high} items")
    return value


def _check_duplicate_options(data: dict[str, Any]) -> None:
    if data.get("enable_duplicate_check"):
        interval = data.get("duplicate_check_interval", 1800)
        if not isinstance(interval, int) or not 0 < interval <= 4 * 3600:
            raise ApiError(40058, "duplicate_check_interval must be at most 4 hours")


def _validate_card(card: dict[str, Any]) -> None:
    """The structure WeCom requires of each card type (doc 90236, 模板卡片消息)."""
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ApiError(40058, "template_card.card_type is invalid")
    title = card.get("main_title")
    has_title = isinstance(title, dict) and isinstance(title.get("title"), str) and title["title"]
    if card_type == "text_notice":
        if not has_title and not card.get("sub_title_text"):
            raise ApiError(40058, "main_title.title or sub_title_text is required")
    elif not has_title:
        raise ApiError(40058, "template_card.main_title.title is required")
    if card_type in ("text_notice", "news_notice") or "card_action" in card:
        _validate_card_action(card.get("card_action"))
    if card_type == "news_notice" and not isinstance(
        card.get("card_image") or card.get("image_text_area"), dict
    ):
        raise ApiError(40058, "news_notice needs card_image or image_text_area")
    if card_type == "button_interaction":
        for button in _require_list(card, "button_list", "template_card", 1, 6):
            _require_str(button, "text", "button_list[]")
            _require_str(button, "key", "button_list[]", max_bytes=1024)
            if button.get("style", 1) not in (1, 2, 3, 4):
                raise ApiError(40058, "button_list[].style must be 1 to 4")
        _unique([button["key"] for button in card["button_list"]], "button_list[].key")
    elif card_type == "vote_interaction":
        checkbox = card.get("checkbox")
        if not isinstance(checkbox, dict):
            raise ApiError(40058, "vote_interaction needs checkbox")
        _require_str(checkbox, "question_key", "checkbox", max_bytes=1024)
        _validate_options(_require_list(checkbox, "option_list", "checkbox", 1, 20), "checkbox")
        if checkbox.get("mode", 0) not in (0, 1):
            raise ApiError(40058, "checkbox.mode must be 0 or 1")
        _validate_submit(card)
    elif card_type == "multiple_interaction":
        selects = _require_list(card, "select_list", "template_card", 1, 3)
        for select in selects:
            _require_str(select, "question_key", "select_list[]", max_bytes=1024)
            options = _require_list(select, "option_list", "select_list[]", 1, 10)
            _validate_options(options, "select_list[]")
        _unique([select["question_key"] for select in selects], "select_list[].question_key")
        _validate_submit(card)


def _validate_card_action(action: Any) -> None:
    if not isinstance(action, dict) or action.get("type") not in (0, 1, 2):
        raise ApiError(40058, "card_action.type must be 0, 1 or 2")
    if action["type"] == 1:
        url = _require_str(action, "url", "card_action")
        if not url.startswith(("http://", "https://")):
            raise ApiError(40058, "card_action.url is invalid")
    if action["type"] == 2:
        _require_str(action, "appid", "card_action")


def _validate_options(options: list[Any], where: str) -> None:
    for option in options:
        _require_str(option, "id", f"{where}.option_list[]", max_bytes=128)
        _require_str(option, "text", f"{where}.option_list[]")
    _unique([option["id"] for option in options], f"{where}.option_list[].id")


def _validate_submit(card: dict[str, Any]) -> None:
    submit = card.get("submit_button")
    _require_str(submit, "text", "submit_button")
    _require_str(submit, "key", "submit_button", max_bytes=1024)


def _unique(values: list[str], where: str) -> None:
    if len(set(values)) != len(values):
        raise ApiError(40058, f"{where} must be unique")


def _validate_menu(menu: dict[str, Any]) -> None:
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016, "invalid button count")
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("name"), str):
            raise ApiError(40058, "button.name is required")
        subs = button.get("sub_button")
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                raise ApiError(40016, "invalid sub_button count")
            for sub in subs:
                _validate_menu_leaf(sub)
        else:
            _validate_menu_leaf(button)


def _validate_menu_leaf(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("name"), str):
        raise ApiError(40058, "button.name is required")
    kind = button.get("type")
    if kind == "click":
        _require_str(button, "key", "button")
    elif kind == "view":
        _require_str(button, "url", "button")
    else:
        raise ApiError(40058, "button.type must be click or view")


# -- Flask and the HTTP server ------------------------------------------------------------


def create_fake_api_blueprint(state: FakeWeCom, name: str = "fake_wecom") -> Blueprint:
    """Routes under ``/cgi-bin/…`` (mount with a url_prefix to share an app), plus the
    OAuth authorize redirect at ``/connect/oauth2/authorize`` (the simulator passes the
    signed-in person as ``sim_userid``)."""
    blueprint = Blueprint(name, __name__)

    @blueprint.route("/cgi-bin/<path:endpoint>", methods=["GET", "POST"])
    def api(endpoint: str) -> Response:
        body = request.get_data(cache=True) if not request.files else b""
        answer = state.handle(endpoint, request.args.to_dict(), body, request.files)
        if isinstance(answer, StoredMedia):
            return _media_response(answer)
        return Response(
            json.dumps(answer, ensure_ascii=False), content_type="application/json; charset=UTF-8"
        )

    @blueprint.get("/connect/oauth2/authorize")
    def authorize() -> Any:
        args = request.args
        target = args.get("redirect_uri", "")
        # who is signed in to the simulated WeCom client: the chat page sets this cookie
        userid = args.get("sim_userid", "") or request.cookies.get("sim_userid", "")
        if args.get("appid") != state.corp_id or urlsplit(target).scheme not in ("http", "https"):
            return Response("invalid appid or redirect_uri", status=400)
        if not userid:
            return Response("sim_userid is required", status=400)
        code = state.issue_oauth_code(userid)
        query = urlencode({"code": code, "state": args.get("state", "")})
        separator = "&" if urlsplit(target).query else "?"
        return redirect(f"{target}{separator}{query}")

    return blueprint


def _media_response(media: StoredMedia) -> Response:
    if media.filename.isascii() and '"' not in media.filename:
        disposition = f'attachment; filename="{media.filename}"'
    else:
        disposition = f"attachment; filename*=UTF-8''{quote(media.filename)}"
    return Response(
        media.content,
        mimetype=media.content_type,
        headers={"Content-Disposition": disposition},
    )


def create_fake_api_app(state: FakeWeCom, url_prefix: str = "") -> Flask:
    """A bare Flask app serving only the fake API (for tests)."""
    app = Flask("fake_wecom")
    app.register_blueprint(create_fake_api_blueprint(state), url_prefix=url_prefix or None)
    return app


class FakeWeComServer:
    """The fake API as a real HTTP server on 127.0.0.1 (port 0 = any free port)."""

    def __init__(
        self, state: FakeWeCom, host: str = "127.0.0.1", port: int = 0, url_prefix: str = ""
    ) -> None:
        self.state = state
        self._server: BaseWSGIServer = make_server(
            host, port, create_fake_api_app(state, url_prefix), threaded=True
        )
        self.base_url = f"http://{host}:{self._server.server_port}{url_prefix}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeWeComServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.release_hangs()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWeComServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
