"""The fake WeCom API served over HTTP: a Flask blueprint, a bare app, a server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from flask import Blueprint, Flask, Response, redirect, request
from werkzeug.serving import BaseWSGIServer, make_server

from bot.devtools.simulator.fake_api import FakeWeCom, StoredMedia

OAUTH_STATE = re.compile(r"[a-zA-Z0-9]{0,128}")  # doc 91022: a-zA-Z0-9, at most 128 bytes


def create_fake_api_blueprint(state: FakeWeCom, name: str = "fake_wecom") -> Blueprint:
    """Routes under ``/cgi-bin/…`` (mount with a url_prefix to share an app), plus the
    OAuth authorize redirect at ``/connect/oauth2/authorize`` (the simulator passes the
    signed-in person as ``sim_userid``)."""
    blueprint = Blueprint(name, __name__)

    @blueprint.route("/cgi-bin/<path:endpoint>", methods=["GET", "POST"])
    def api(endpoint: str) -> Response:
        body = request.get_data(cache=True) if not request.files else b""
        answer = state.handle(
            endpoint, request.args.to_dict(), body, request.files, request.remote_addr or ""
        )
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
        if not OAUTH_STATE.fullmatch(args.get("state", "")):
            return Response("state must be at most 128 bytes of a-zA-Z0-9", status=400)
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
