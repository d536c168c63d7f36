"""The fake WeCom's messages: message/send and update_template_card, and what each person got.

Cards keep their task_id (single use: 42014 when empty, malformed or reused) and interactive
cards a response_code that update_template_card accepts once, within 72 hours (60140 after,
42022 once used); an interactive card from an app without a callback URL gets 43012.

A send with ``enable_duplicate_check`` is dropped, silently as WeCom does (errcode 0), for each
person who got the same content (message type and body) within ``duplicate_check_interval``
seconds (default 1,800), whether or not that earlier message asked for the check.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.devtools.simulator.api_rules import (
    DEFAULT_DUPLICATE_CHECK_INTERVAL,
    INTERACTIVE,
    MSG_TYPES,
    TASK_ID,
    ApiError,
    check_duplicate_options,
    validate_card,
)

RESPONSE_CODE_TTL = 72 * 3600


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


class FakeMessaging:
    """Sent messages and cards of one fake app (the caller holds the lock)."""

    def __init__(
        self,
        clock: Callable[[], float],
        validate_message: Callable[[str, dict[str, Any]], None],
        callback_url: Callable[[], str | None],
    ) -> None:
        self.clock = clock
        self.validate_message = validate_message
        self.callback_url = callback_url
        self._response_codes: dict[str, _ResponseCode] = {}
        self._cards: dict[str, _Card] = {}  # by task_id
        self._task_ids: set[str] = set()
        self._delivered: dict[str, list[Delivered]] = {}
        self._last_content: dict[tuple[str, str], float] = {}  # (userid, content digest) → time

    def sent_to(self, userid: str) -> list[Delivered]:
        return list(self._delivered.get(userid, ()))

    def issue_response_code(self, userid: str, task_id: str) -> str:
        card = self._cards.get(task_id)
        if card is None or userid not in card.recipients:
            raise KeyError(f"{userid} has no card {task_id}")
        return self._new_response_code(task_id, card.msgid, frozenset({userid}))

    def _new_response_code(self, task_id: str, msgid: str, userids: frozenset[str]) -> str:
        code = secrets.token_urlsafe(32)
        expires_at = self.clock() + RESPONSE_CODE_TTL
        self._response_codes[code] = _ResponseCode(task_id, msgid, userids, expires_at)
        return code

    def expire_response_codes(self) -> None:
        now = self.clock()
        for code in self._response_codes.values():
            code.expires_at = min(code.expires_at, now)

    def _deliver(self, item: Delivered) -> None:
        self._delivered.setdefault(item.userid, []).append(item)

    def check(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The message type and body of a message/send request, refused as WeCom would."""
        msgtype = data.get("msgtype")
        if msgtype not in (*MSG_TYPES, "template_card"):
            raise ApiError(40008, "invalid message type")
        content = data.get(msgtype)
        if not isinstance(content, dict):
            raise ApiError(40058, f"{msgtype} is required")
        if msgtype == "template_card":
            validate_card(content)
            if content["card_type"] in INTERACTIVE and not self.callback_url():
                # WeCom: only an app that receives messages (接收消息 set) may send cards
                # a person answers; doc 90313: 43012 应用需配置回调url
                raise ApiError(43012, "interactive template_card needs the app's callback url")
        else:
            self.validate_message(msgtype, content)
        check_duplicate_options(data)
        return msgtype, content

    def send(
        self,
        msgtype: str,
        content: dict[str, Any],
        valid: list[str],
        invalid: list[str],
        duplicate_check: int | None = None,
    ) -> dict[str, Any]:
        """Deliver a checked message to ``valid``; the answer message/send gives.
        ``duplicate_check``: the interval in seconds when the send enabled the check."""
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
        digest = _digest(msgtype, content)
        for userid in valid:
            last = self._last_content.get((userid, digest))
            self._last_content[(userid, digest)] = now
            if duplicate_check is not None and last is not None and now - last < duplicate_check:
                continue  # WeCom drops it without a word
            delivered = Delivered(msgid, userid, msgtype, content, now, task_id, response_code)
            self._deliver(delivered)
        answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": msgid}
        if response_code:
            answer["response_code"] = response_code
        return answer

    def update(self, data: dict[str, Any]) -> dict[str, Any]:
        """update_template_card: replace a tapped card with its single-use response_code."""
        code = self._response_codes.get(str(data.get("response_code") or ""))
        # doc 90313: 60140 无效的response_code (可能是response_code已经过期). Which errcode a
        # used code gets is not documented; 42022 (code已经被使用过。只能使用一次) is the
        # nearest listed, unconfirmed for response_code
        if code is None or code.expires_at <= self.clock():
            raise ApiError(60140, "invalid response_code")
        if code.used:
            raise ApiError(42022, "response_code has been used")
        userids = data.get("userids")
        if not isinstance(userids, list) or not userids:
            raise ApiError(40058, "userids is required")
        if not all(isinstance(user, str) for user in userids):
            raise ApiError(40058, "userids must be strings")
        if "template_card" in data:
            content = data["template_card"]
            if not isinstance(content, dict):
                raise ApiError(40058, "template_card must be an object")
            validate_card(content)
            if content.get("task_id", code.task_id) != code.task_id:
                raise ApiError(40058, "template_card.task_id does not match the response_code")
        elif isinstance(data.get("button"), dict) and data["button"].get("replace_name"):
            content = {"replace_name": str(data["button"]["replace_name"])}
        else:
            raise ApiError(40058, "template_card or button.replace_name is required")
        code.used = True
        holders = {user.lower(): user for user in code.userids}  # ids are case-insensitive
        valid = [holders[user.lower()] for user in userids if user.lower() in holders]
        invalid = [user.lower() for user in userids if user.lower() not in holders]
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

    def _claim_task_id(self, card: dict[str, Any]) -> None:
        task_id = card.get("task_id")
        if task_id is None and card["card_type"] not in INTERACTIVE:
            return
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            raise ApiError(42014, "invalid task_id")
        if task_id in self._task_ids:
            raise ApiError(42014, "task_id has been used")
        self._task_ids.add(task_id)


def duplicate_check_of(data: dict[str, Any]) -> int | None:
    """The duplicate-check interval a message/send body asks for, or None (no check)."""
    if not data.get("enable_duplicate_check"):
        return None
    return int(data.get("duplicate_check_interval", DEFAULT_DUPLICATE_CHECK_INTERVAL))


def _digest(msgtype: str, content: dict[str, Any]) -> str:
    canonical = json.dumps([msgtype, content], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
