"""The simulator's chat page: act as anyone on the roster and talk to the app.

Every action on the page reaches the bot as WeCom would send it: an encrypted, signed callback
POSTed to ``/wecom/callback``. What the bot sends comes back through the fake API
(``fake_api.FakeWeCom``) and is shown as WeCom renders it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import sqlalchemy as sa
from flask import Blueprint, Flask, Response, jsonify, render_template, request

from bot.core.models import ROLE_NAMES, Person, Role, RoleGrant
from bot.devtools.simulator.api_server import create_fake_api_blueprint
from bot.devtools.simulator.callbacks import Envelope
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.wecom.crypto import WeComCrypto

Deliver = Callable[[dict[str, str], bytes], int]
MAX_PHOTO_BYTES = 10 * 1024 * 1024
VISITOR = ("visitor", "访客（不在名单中）")
SYSTEM_SENDER = "sys"  # FromUserName of WeCom's own events
CONTACT_CHANGES = ("update_user", "delete_user", "create_user")


@dataclass
class Typed:
    """Something the person did on the page (shown on their side of the conversation)."""

    id: str
    userid: str
    msgtype: str
    text: str
    at: float
    media_url: str = ""


@dataclass
class Simulator:
    """The fake WeCom company behind the chat page."""

    state: FakeWeCom
    crypto: WeComCrypto
    deliver: Deliver
    clock: Callable[[], float] = time.time
    _typed: dict[str, list[Typed]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def envelope(self, userid: str) -> Envelope:
        return Envelope(self.crypto.corp_id, self.state.agent_id, userid, int(self.clock()))

    def _post(self, xml: str) -> int:
        signed = self.crypto.build_callback(
            xml,
            timestamp=int(self.clock()),
            nonce=secrets.token_hex(8),
            agent_id=self.state.agent_id,
        )
        return self.deliver(signed.query, signed.body)

    def _log(self, userid: str, msgtype: str, text: str, media_url: str = "") -> None:
        with self._lock:
            entry = Typed(f"u{next(self._ids)}", userid, msgtype, text, self.clock(), media_url)
            self._typed.setdefault(userid, []).append(entry)

    def send_text(self, userid: str, content: str) -> int:
        self._log(userid, "text", content)
        msg_id = int(self.clock() * 1000) * 1000 + next(self._ids) % 1000
        return self._post(self.envelope(userid).text(content, msg_id))

    def send_photo(self, userid: str, content: bytes, filename: str, content_type: str) -> int:
        media_id = self.state.store_media(content, filename, content_type, "image")
        url = f"/simulator/api/media/{media_id}"
        self._log(userid, "image", "", media_url=url)
        msg_id = int(self.clock() * 1000) * 1000 + next(self._ids) % 1000
        return self._post(self.envelope(userid).image(media_id, url, msg_id))

    def tap_menu(self, userid: str, key: str, name: str) -> int:
        self._log(userid, "event", f"点击了菜单“{name}”")
        return self._post(self.envelope(userid).event("click", key))

    def open_app(self, userid: str) -> int:
        return self._post(self.envelope(userid).event("enter_agent"))

    def send_location(self, userid: str, latitude: float, longitude: float) -> int:
        """上报地理位置: the client reports where the person is (event LOCATION)."""
        self._log(userid, "event", "上报了地理位置")
        return self._post(self.envelope(userid).location(latitude, longitude))

    def change_contact(self, change_type: str, userid: str, new_userid: str = "") -> int:
        """An administrator changes the contact book: WeCom updates its members and tells
        the app with a change_contact event from ``sys`` (update_user with NewUserID for a
        changed userid, delete_user for a removed member)."""
        if change_type == "update_user" and new_userid:
            self.state.rename_user(userid, new_userid)
        elif change_type == "delete_user":
            self.state.remove_user(userid)
        xml = self.envelope(SYSTEM_SENDER).change_contact(
            change_type, userid, new_userid=new_userid
        )
        return self._post(xml)

    def tap_card_menu(self, userid: str, *, task_id: str, card_type: str, event_key: str) -> int:
        """A choice in a card's top-right menu (action_menu): template_card_menu_event."""
        response_code = self.state.issue_response_code(userid, task_id)
        self._log(userid, "event", "点击了卡片菜单")
        xml = self.envelope(userid).card_menu(
            event_key=event_key, task_id=task_id, card_type=card_type, response_code=response_code
        )
        return self._post(xml)

    def tap_card(
        self,
        userid: str,
        *,
        task_id: str,
        card_type: str,
        event_key: str,
        selected: list[tuple[str, list[str]]],
    ) -> int:
        response_code = self.state.issue_response_code(userid, task_id)
        xml = self.envelope(userid).card_tap(
            event_key=event_key,
            task_id=task_id,
            card_type=card_type,
            response_code=response_code,
            selected=selected,
        )
        return self._post(xml)

    def conversation(self, userid: str) -> list[dict[str, Any]]:
        """Both sides of the chat, oldest first; card updates folded into their cards."""
        entries: list[dict[str, Any]] = [
            {
                "id": typed.id,
                "direction": "in",
                "msgtype": typed.msgtype,
                "text": typed.text,
                "at": typed.at,
                "media_url": typed.media_url,
            }
            for typed in self._typed.get(userid, [])
        ]
        by_msgid: dict[str, dict[str, Any]] = {}
        for item in self.state.sent_to(userid):
            if item.msgtype == "update_template_card":
                original = by_msgid.get(item.replaces)
                if original is not None:
                    if "replace_name" in item.content:
                        original["replaced_text"] = item.content["replace_name"]
                    else:
                        original["payload"] = item.content
                continue
            entry = {
                "id": f"a{item.msgid}",
                "direction": "out",
                "msgtype": item.msgtype,
                "payload": item.content,
                "at": item.sent_at,
            }
            media_id = item.content.get("media_id")
            if media_id:
                entry["media_url"] = f"/simulator/api/media/{media_id}"
                media = self.state.media(media_id)
                entry["filename"] = media.filename if media else ""
            by_msgid[item.msgid] = entry
            entries.append(entry)
        entries.sort(key=lambda entry: entry["at"])
        return entries


CALLBACK_TIMEOUT = 5.0  # seconds WeCom waits for the app's 200
CALLBACK_RETRIES = 3  # WeCom: "总共重试三次" after the first try


def http_deliver(
    callback_url: str, *, timeout: float = CALLBACK_TIMEOUT, retries: int = CALLBACK_RETRIES
) -> Deliver:
    """Deliver callbacks over HTTP as WeCom does: a try that gets no 200 within ``timeout``
    (an error status, no answer, a refused connection) is retried, ``retries`` times at most,
    with the same query and body. The last status is returned (599: no answer)."""

    def deliver(query: dict[str, str], body: bytes) -> int:
        status = 599
        for _ in range(1 + retries):
            try:
                status = requests.post(
                    callback_url, params=query, data=body, timeout=timeout
                ).status_code
            except requests.RequestException:
                status = 599
            if status == 200:
                break
        return status

    return deliver


def sync_directory(simulator: Simulator, session: Any) -> list[dict[str, Any]]:
    """The roster as WeCom's address book: everyone active, with their roles."""
    people = list(
        session.scalars(
            sa.select(Person).where(Person.active.is_(True)).order_by(Person.kind, Person.id)
        )
    )
    roles: dict[int, list[Role]] = {}
    for grant in session.scalars(sa.select(RoleGrant)):
        roles.setdefault(grant.person_id, []).append(grant.role)
    listing = []
    for person in people:
        simulator.state.add_user(person.userid, person.name)
        names = [ROLE_NAMES[role] for role in Role if role in roles.get(person.id, [])]
        listing.append({"userid": person.userid, "name": person.name, "roles": names})
    simulator.state.add_user(*VISITOR)
    listing.append({"userid": VISITOR[0], "name": VISITOR[1], "roles": []})
    return listing


def _flatten_menu(menu: dict[str, Any] | None) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for button in (menu or {}).get("button", []):
        buttons.extend(button.get("sub_button") or [button])
    return buttons


def create_blueprint(simulator: Simulator) -> Blueprint:
    blueprint = Blueprint(
        "simulator",
        __name__,
        url_prefix="/simulator",
        template_folder="templates",
        static_folder="static",
    )

    def _userid(payload: dict[str, Any]) -> str:
        userid = str(payload.get("userid", ""))
        if not userid:
            raise ValueError("缺少 userid")
        return userid

    def _answer(status: int) -> tuple[Response, int]:
        if status == 200:
            return jsonify(ok=True), 200
        return jsonify(error=f"应用回调返回 {status}"), 502

    @blueprint.get("/")
    def page() -> str:
        return render_template("chat.html")

    @blueprint.get("/api/people")
    def people() -> Response:
        from bot.core.db import get_session

        return jsonify(people=sync_directory(simulator, get_session()))

    @blueprint.get("/api/menu")
    def menu() -> Response:
        return jsonify(buttons=_flatten_menu(simulator.state.menu))

    @blueprint.get("/api/conversation")
    def conversation() -> Response:
        userid = request.args.get("userid", "")
        entries = simulator.conversation(userid)
        canonical = json.dumps(entries, sort_keys=True, ensure_ascii=False).encode()
        return jsonify(entries=entries, version=hashlib.sha1(canonical).hexdigest())

    @blueprint.post("/api/text")
    def text() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        content = str(payload.get("content", "")).strip()
        if not content:
            return jsonify(error="消息不能为空"), 400
        return _answer(simulator.send_text(_userid(payload), content))

    @blueprint.post("/api/open")
    def open_app() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        return _answer(simulator.open_app(_userid(payload)))

    @blueprint.post("/api/menu")
    def tap_menu() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        key = str(payload.get("key", ""))
        names = {b.get("key"): b.get("name", "") for b in _flatten_menu(simulator.state.menu)}
        if key not in names:
            return jsonify(error="菜单项不存在"), 400
        return _answer(simulator.tap_menu(_userid(payload), key, names[key]))

    @blueprint.post("/api/card")
    def tap_card() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        selected = [
            (str(item.get("question_key", "")), [str(o) for o in item.get("option_ids", [])])
            for item in payload.get("selected_items", [])
        ]
        try:
            status = simulator.tap_card(
                _userid(payload),
                task_id=str(payload.get("task_id", "")),
                card_type=str(payload.get("card_type", "")),
                event_key=str(payload.get("event_key", "")),
                selected=selected,
            )
        except KeyError:
            return jsonify(error="这张卡片不属于当前用户"), 400
        return _answer(status)

    @blueprint.post("/api/location")
    def location() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        latitude = float(payload.get("latitude", 31.2304))
        longitude = float(payload.get("longitude", 121.4737))
        return _answer(simulator.send_location(_userid(payload), latitude, longitude))

    @blueprint.post("/api/contact")
    def contact() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        change_type = str(payload.get("change_type", ""))
        if change_type not in CONTACT_CHANGES:
            return jsonify(error="未知的通讯录变更类型"), 400
        new_userid = str(payload.get("new_userid", "")).strip()
        if change_type == "update_user" and not new_userid:
            return jsonify(error="请填写新的账号"), 400
        return _answer(simulator.change_contact(change_type, _userid(payload), new_userid))

    @blueprint.post("/api/card-menu")
    def card_menu() -> tuple[Response, int]:
        payload = request.get_json(force=True, silent=True) or {}
        try:
            status = simulator.tap_card_menu(
                _userid(payload),
                task_id=str(payload.get("task_id", "")),
                card_type=str(payload.get("card_type", "")),
                event_key=str(payload.get("event_key", "")),
            )
        except KeyError:
            return jsonify(error="这张卡片不属于当前用户"), 400
        return _answer(status)

    @blueprint.post("/api/photo")
    def photo() -> tuple[Response, int]:
        upload = request.files.get("media")
        userid = request.form.get("userid", "")
        if upload is None or not userid:
            return jsonify(error="缺少照片或 userid"), 400
        content = upload.read(MAX_PHOTO_BYTES + 1)
        if len(content) > MAX_PHOTO_BYTES:
            return jsonify(error="照片不能超过 10 MB"), 413
        content_type = upload.mimetype or "application/octet-stream"
        if content_type not in ("image/jpeg", "image/png"):
            return jsonify(error="只能发送 JPG 或 PNG 照片"), 400
        return _answer(
            simulator.send_photo(userid, content, upload.filename or "photo", content_type)
        )

    @blueprint.get("/api/media/<media_id>")
    def media(media_id: str) -> Response:
        """An image shows inline; a file downloads under the name it was sent with."""
        stored = simulator.state.media(media_id)
        if stored is None:
            return Response("媒体文件不存在或已过期", status=404)
        response = Response(stored.content, mimetype=stored.content_type)
        kind = "inline" if stored.media_type == "image" else "attachment"
        response.headers["Content-Disposition"] = (
            f"{kind}; filename*=UTF-8''{quote(stored.filename)}"
        )
        return response

    @blueprint.errorhandler(ValueError)
    def bad_request(error: ValueError) -> tuple[Response, int]:
        return jsonify(error=str(error)), 400

    return blueprint


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def init_app(app: Flask) -> Simulator:
    """Mount the fake API (under /simulator/cgi-bin) and the chat page (/simulator/)."""
    settings = app.extensions["settings"]
    callback_url = settings.PUBLIC_BASE_URL + "/wecom/callback"
    state = FakeWeCom(
        settings.WECOM_CORP_ID,
        settings.WECOM_SECRET,
        settings.WECOM_AGENT_ID,
        callback_url=callback_url,
        trusted_ips=settings.SIMULATOR_TRUSTED_IPS,
    )
    state.directory.redirect_domain = urlsplit(settings.PUBLIC_BASE_URL).netloc  # 可信域名
    state.leave_out_of_range(*_listed(settings.SIMULATOR_OUTSIDE_RANGE))
    simulator = Simulator(
        state=state,
        crypto=WeComCrypto(settings.WECOM_TOKEN, settings.WECOM_AES_KEY, settings.WECOM_CORP_ID),
        deliver=http_deliver(callback_url),
    )
    app.register_blueprint(create_fake_api_blueprint(state), url_prefix="/simulator")
    app.register_blueprint(create_blueprint(simulator))
    app.extensions["simulator"] = simulator
    return simulator
