"""Callback crypto: a known-answer vector, cross-checks with wechatpy, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.wecom.crypto import (
    CallbackRejected,
    DecryptError,
    MalformedXmlError,
    ReceiveIdError,
    SignatureError,
    StaleTimestampError,
    WeComCrypto,
    signature,
)

TOKEN = "token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_ID = "wwcorp123"
NOW = 1_700_000_000
FIXED_RANDOM = bytes(range(16))

# Computed once with `openssl enc -aes-256-cbc -nopad` over a plaintext assembled by hand
# (16 bytes 00..0f + big-endian length + message + CorpID, PKCS#7 to 32), not with our code.
KNOWN_MESSAGE = "<xml><Content><![CDATA[你好]]></Content></xml>"
KNOWN_ENCRYPT = (
    "IG+0eOkLdhYW9kHtuT3HY1r4tZbH6ZoKFeEJc7Csl/5MorxMYyR5HMWUPK5JlUXqpXkH1UFdXai0dr2/7SmZS/NRGZBt"
    "p/e+gJQ7QlKuFqDP037PisfUG2q3NoTbbbAd"
)
KNOWN_SIGNATURE = "0428cb371422554f08804ed3ce11bf976f07e484"  # token, 1700000000, nonce42


def make_crypto(corp_id: str = CORP_ID, random_bytes=lambda n: FIXED_RANDOM) -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, corp_id, random_bytes=random_bytes)


def raw_key() -> bytes:
    return base64.b64decode(AES_KEY + "=")


def aes_encrypt_raw(padded: bytes) -> str:
    """AES-256-CBC with IV = key[:16] over bytes the caller already padded."""
    key = raw_key()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def assemble(message: bytes, receive_id: bytes = CORP_ID.encode()) -> bytes:
    return FIXED_RANDOM + struct.pack(">I", len(message)) + message + receive_id


def envelope(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID>1</AgentID>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()


def post(crypto: WeComCrypto, encrypt: str, timestamp: str = str(NOW), nonce: str = "n1"):
    sig = signature(TOKEN, timestamp, nonce, encrypt)
    return crypto.decrypt_message(envelope(encrypt), sig, timestamp, nonce, now=NOW)


# -- known answers ------------------------------------------------------------------------


def test_known_answer_encrypt() -> None:
    assert make_crypto().encrypt(KNOWN_MESSAGE) == KNOWN_ENCRYPT


def test_known_answer_decrypt_and_signature() -> None:
    assert signature(TOKEN, "1700000000", "nonce42", KNOWN_ENCRYPT) == KNOWN_SIGNATURE
    body = envelope(KNOWN_ENCRYPT)
    plain = make_crypto().decrypt_message(body, KNOWN_SIGNATURE, "1700000000", "nonce42", NOW)
    assert plain == KNOWN_MESSAGE


def test_signature_is_sha1_of_sorted_concatenation() -> None:
    expected = hashlib.sha1(b"".join(sorted([b"t", b"2", b"n", b"e"]))).hexdigest()
    assert signature("t", "2", "n", "e") == expected


@pytest.mark.parametrize("size", [0, 1, 11, 12, 43, 44, 500])
def test_padding_to_32_bytes_matches_hand_computation(size: int) -> None:
    # 20 + size + len(CORP_ID) = 29 + size bytes: size 3, 35 … land exactly on a block edge.
    message = "x" * size
    plain = assemble(message.encode())
    pad = 32 - len(plain) % 32
    expected = aes_encrypt_raw(plain + bytes([pad]) * pad)
    assert make_crypto().encrypt(message) == expected
    assert make_crypto().decrypt(expected) == message


def test_full_block_of_padding_when_already_aligned() -> None:
    message = b"y" * 35  # 16 + 4 + 35 + 9 = 64
    assert len(assemble(message)) % 32 == 0
    expected = aes_encrypt_raw(assemble(message) + bytes([32]) * 32)
    assert make_crypto().encrypt(message.decode()) == expected


def test_random_prefix_is_used() -> None:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    first, second = crypto.encrypt("same"), crypto.encrypt("same")
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "same"


# -- cross-checks with wechatpy -----------------------------------------------------------


def test_wechatpy_decrypts_what_we_encrypt() -> None:
    ours = make_crypto(random_bytes=os.urandom)
    reply = ours.encrypt_message("<xml><Content>回复</Content></xml>", "nonce9", NOW)
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    signed = ours.build_callback("<xml><Content>回调</Content></xml>", timestamp=NOW, nonce="n7")
    decrypted = theirs.decrypt_message(
        signed.body,
        signed.query["msg_signature"],
        signed.query["timestamp"],
        signed.query["nonce"],
    )
    assert decrypted == "<xml><Content>回调</Content></xml>"
    root = ElementTree.fromstring(reply)
    sig, ts, nonce = (root.findtext(tag) for tag in ("MsgSignature", "TimeStamp", "Nonce"))
    assert theirs.decrypt_message(reply, sig, ts, nonce) == "<xml><Content>回复</Content></xml>"


def test_we_decrypt_what_wechatpy_encrypts() -> None:
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    reply = theirs.encrypt_message("<xml><Content>来自 wechatpy</Content></xml>", "n3", str(NOW))
    root = ElementTree.fromstring(reply)
    sig, ts, nonce = (root.findtext(tag) for tag in ("MsgSignature", "TimeStamp", "Nonce"))
    plain = make_crypto().decrypt_message(reply.encode(), sig, ts, nonce, now=NOW)
    assert plain == "<xml><Content>来自 wechatpy</Content></xml>"


def test_url_verification_round_trip_with_wechatpy() -> None:
    ours = make_crypto()
    query = ours.build_url_verification("echo-123", timestamp=NOW, nonce="nn")
    theirs = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    args = (query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
    assert theirs.check_signature(*args) == "echo-123"
    assert ours.verify_url(*args) == "echo-123"


def test_url_verification_checks_the_timestamp_when_asked() -> None:
    crypto = make_crypto()
    query = crypto.build_url_verification("e", timestamp=NOW - 301, nonce="n")
    args = (query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
    assert crypto.verify_url(*args) == "e"
    with pytest.raises(StaleTimestampError):
        crypto.verify_url(*args, now=NOW)


def test_build_callback_round_trip() -> None:
    crypto = make_crypto()
    signed = crypto.build_callback("<xml><A>1</A></xml>", timestamp=NOW, nonce="abc", agent_id=7)
    assert set(signed.query) == {"msg_signature", "timestamp", "nonce"}
    plain = crypto.decrypt_message(signed.body, **signed.query, now=NOW + 10)
    assert plain == "<xml><A>1</A></xml>"


# -- refusals -----------------------------------------------------------------------------


def test_forged_signature_refused() -> None:
    crypto = make_crypto()
    with pytest.raises(SignatureError):
        crypto.decrypt_message(envelope(KNOWN_ENCRYPT), "0" * 40, str(NOW), "nonce42", NOW)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(envelope(KNOWN_ENCRYPT), "签名", str(NOW), "nonce42", NOW)
    with pytest.raises(SignatureError):
        crypto.verify_url("0" * 40, str(NOW), "n", KNOWN_ENCRYPT)


def test_signature_checked_before_decrypting() -> None:
    with pytest.raises(SignatureError):
        make_crypto().decrypt_message(envelope("!!not base64!!"), "0" * 40, str(NOW), "n", NOW)


def test_signature_with_other_token_refused() -> None:
    other = WeComCrypto("other-token", AES_KEY, CORP_ID)
    signed = other.build_callback("<xml/>", timestamp=NOW, nonce="n")
    with pytest.raises(SignatureError):
        make_crypto().decrypt_message(signed.body, **signed.query, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 100_000])
def test_stale_timestamp_refused(offset: int) -> None:
    crypto = make_crypto()
    signed = crypto.build_callback("<xml/>", timestamp=NOW - offset, nonce="n")
    with pytest.raises(StaleTimestampError):
        crypto.decrypt_message(signed.body, **signed.query, now=NOW)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_timestamp_within_window_accepted(offset: int) -> None:
    crypto = make_crypto()
    signed = crypto.build_callback("<xml/>", timestamp=NOW - offset, nonce="n")
    assert crypto.decrypt_message(signed.body, **signed.query, now=NOW) == "<xml/>"


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1e9", "", "١٢٣"])
def test_non_numeric_timestamp_refused(timestamp: str) -> None:
    with pytest.raises(StaleTimestampError):
        post(make_crypto(), KNOWN_ENCRYPT, timestamp=timestamp)


def test_receive_id_must_be_our_corp_id() -> None:
    foreign = make_crypto(corp_id="wwsomeoneelse")
    with pytest.raises(ReceiveIdError):
        post(make_crypto(), foreign.encrypt("<xml/>"))
    with pytest.raises(ReceiveIdError):
        post(make_crypto(), make_crypto(corp_id=CORP_ID + "x").encrypt("<xml/>"))


@pytest.mark.parametrize(
    "padding",
    [
        bytes([0]) * 32,  # pad value 0
        bytes([33]) * 32,  # larger than the block
        bytes([5, 5, 5, 4, 5]),  # inconsistent bytes
        bytes([200]),
    ],
)
def test_invalid_padding_refused(padding: bytes) -> None:
    plain = assemble(b"<xml/>")
    filler = (32 - (len(plain) + len(padding)) % 32) % 32
    padded = plain + b"z" * filler + padding
    assert len(padded) % 32 == 0
    with pytest.raises(DecryptError):
        post(make_crypto(), aes_encrypt_raw(padded))


def test_length_field_beyond_plaintext_refused() -> None:
    plain = FIXED_RANDOM + struct.pack(">I", 10_000) + b"<xml/>" + CORP_ID.encode()
    pad = 32 - len(plain) % 32
    with pytest.raises(DecryptError):
        post(make_crypto(), aes_encrypt_raw(plain + bytes([pad]) * pad))


def test_invalid_utf8_message_refused() -> None:
    plain = assemble(b"\xff\xfe<xml/>")
    pad = 32 - len(plain) % 32
    with pytest.raises(DecryptError):
        post(make_crypto(), aes_encrypt_raw(plain + bytes([pad]) * pad))


@pytest.mark.parametrize(
    "encrypt",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),  # not a multiple of 16
        KNOWN_ENCRYPT[:-24] + "==",  # truncated
        base64.b64encode(b"\0" * 16).decode(),  # garbage block
    ],
)
def test_garbage_ciphertext_refused(encrypt: str) -> None:
    with pytest.raises(CallbackRejected):
        post(make_crypto(), encrypt)


def test_bad_echostr_refused() -> None:
    sig = signature(TOKEN, str(NOW), "n", "garbage")
    with pytest.raises(DecryptError):
        make_crypto().verify_url(sig, str(NOW), "n", "garbage")


# -- hostile envelopes --------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Encrypt>&lol4;</Encrypt></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&xxe;</Encrypt></xml>"""

BARE_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://example.invalid/evil.dtd">
<xml><Encrypt>abc</Encrypt></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        BARE_DTD,
        b"",
        b"garbage",
        b"<xml><Encrypt>abc</Encrypt>",  # truncated
        b"<root><Encrypt>abc</Encrypt></root>",  # wrong root
        b"<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        b"<xml><Encrypt></Encrypt></xml>",
        "<xml><Encrypt>\udcff</Encrypt></xml>".encode("utf-8", "surrogatepass"),
    ],
)
def test_hostile_envelope_refused(body: bytes) -> None:
    with pytest.raises(MalformedXmlError):
        make_crypto().decrypt_message(body, "0" * 40, str(NOW), "n", NOW)


def test_rejections_share_one_base() -> None:
    for error in (SignatureError, StaleTimestampError, DecryptError, ReceiveIdError):
        assert issubclass(error, CallbackRejected)
    assert issubclass(MalformedXmlError, CallbackRejected)


def test_bad_aes_key_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        WeComCrypto(TOKEN, "short", CORP_ID)
