"""Small builders for test data (people with roles) and signed callbacks."""

from __future__ import annotations

import itertools
import time
from typing import Any

import sqlalchemy.orm as so
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.core.models import Person, PersonKind, Role, RoleGrant
from bot.devtools.simulator.callbacks import Envelope

_msg_ids = itertools.count(7_000_000_000_000_000_000)


def add_person(
    session: so.Session,
    userid: str,
    name: str,
    *roles: Role,
    kind: PersonKind | None = None,
    number: str | None = None,
) -> Person:
    if kind is None:
        kind = PersonKind.STUDENT if Role.STUDENT in roles else PersonKind.STAFF
    person = Person(userid=userid, number=number or userid.upper(), name=name, kind=kind)
    person.roles = [RoleGrant(role=role) for role in roles]
    session.add(person)
    session.flush()
    return person


def signed_in(app: Flask, userid: str) -> FlaskClient:
    """An in-app browser with the session cookie the WeCom OAuth sign-in sets."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["userid"] = userid
    return browser


class WeComCaller:
    """Sends callbacks to the app exactly as WeCom would: encrypted, signed, in XML."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.crypto = app.extensions["wecom_crypto"]
        settings = app.extensions["settings"]
        self.corp_id = settings.WECOM_CORP_ID
        self.agent_id = settings.WECOM_AGENT_ID

    def envelope(self, userid: str, create_time: int | None = None) -> Envelope:
        return Envelope(self.corp_id, self.agent_id, userid, create_time or int(time.time()))

    def post_xml(self, xml: str, *, timestamp: int | None = None, **tamper: Any) -> TestResponse:
        stamp = timestamp if timestamp is not None else int(time.time())
        signed = self.crypto.build_callback(xml, timestamp=stamp, nonce="n0nce", agent_id=1)
        query = {**signed.query, **tamper}
        return self.client.post("/wecom/callback", query_string=query, data=signed.body)

    def text(self, userid: str, content: str, msg_id: int | None = None) -> TestResponse:
        msg_id = msg_id if msg_id is not None else next(_msg_ids)
        return self.post_xml(self.envelope(userid).text(content, msg_id))

    def click(self, userid: str, key: str) -> TestResponse:
        return self.post_xml(self.envelope(userid).event("click", key))
