"""Arbitrary input only ever produces the documented refusals."""

from __future__ import annotations

import base64
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wecom import messages as wm
from bot.wecom.crypto import CallbackRejected, MalformedXmlError, WeComCrypto

CRYPTO = WeComCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wwcorp")
TAGS = st.sampled_from(
    [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "EventKey",
        "MsgId",
        "AgentID",
        "Content",
        "Location_X",
        "Scale",
        "SelectedItems",
        "SelectedItem",
        "OptionIds",
        "OptionId",
        "QuestionKey",
        "TaskId",
    ]
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def wecomish_xml(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 8))):
        tag = draw(TAGS)
        text = draw(st.one_of(st.sampled_from(["text", "event", "1", "-1", "x", ""]), st.text()))
        safe = text.replace("]]>", "")
        parts.append(f"<{tag}><![CDATA[{safe}]]></{tag}>")
    return "<xml>" + "".join(parts) + "</xml>"


@settings(max_examples=300, deadline=None)
@given(st.one_of(wecomish_xml(), st.text(), st.binary()))
def test_parse_message_only_raises_malformed(xml: str | bytes) -> None:
    try:
        message = wm.parse_message(xml)
    except MalformedXmlError:
        return
    assert isinstance(message, wm.Message)
    assert message.dedupe_key


@settings(max_examples=300, deadline=None)
@given(st.binary(), st.text(), st.text(), st.text())
def test_decrypt_message_only_raises_rejections(
    body: bytes, signature: str, timestamp: str, nonce: str
) -> None:
    with contextlib.suppress(CallbackRejected):
        CRYPTO.decrypt_message(body, signature, timestamp, nonce, now=1_700_000_000)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=300).map(_b64)))
def test_decrypt_of_any_encrypt_value_only_raises_rejections(encrypt: str) -> None:
    with contextlib.suppress(CallbackRejected):
        CRYPTO.decrypt(encrypt)
