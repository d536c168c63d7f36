"""WeCom callback crypto (接收消息 加解密), implemented from the documented algorithm.

- signature: sha1 hex of the sorted concatenation of token, timestamp, nonce and Encrypt;
- key: base64decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16];
- plaintext: 16 random bytes + 4-byte big-endian length + message + receive id (the CorpID),
  PKCS#7-padded to a multiple of 32 bytes.

Every refusal raises a subclass of :class:`CallbackRejected` so the endpoint can answer 4xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

BLOCK_SIZE = 32
MAX_TIMESTAMP_SKEW = 300


class CallbackRejected(Exception):
    """A callback that must be refused with a 4xx; nothing may be stored or sent."""


class SignatureError(CallbackRejected):
    """msg_signature does not match."""


class StaleTimestampError(CallbackRejected):
    """The timestamp is more than 300 s away from now (or not a number)."""


class DecryptError(CallbackRejected):
    """Bad base64, bad length, bad padding or a malformed plaintext."""


class ReceiveIdError(CallbackRejected):
    """The receive id in the plaintext is not our CorpID."""


class MalformedXmlError(CallbackRejected):
    """The XML is not well formed, uses a DTD or entities, or lacks a required element."""


@dataclass(frozen=True)
class SignedCallback:
    """A complete signed callback: what to put in the query string and the POST body."""

    query: dict[str, str]
    body: bytes


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """sha1 hex over the sorted concatenation of the four strings."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def parse_xml(data: bytes | str) -> Element:
    """Parse untrusted XML with DTDs, entities and external references refused."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise MalformedXmlError(type(exc).__name__) from None
    if root.tag != "xml":
        raise MalformedXmlError("root element is not <xml>")
    return root


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not valid base64") from None
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    amount = block_size - len(data) % block_size
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    if not data:
        raise DecryptError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= block_size or amount > len(data):
        raise DecryptError("invalid padding")
    if not hmac.compare_digest(data[-amount:], bytes([amount]) * amount):
        raise DecryptError("invalid padding")
    return data[:-amount]


class WeComCrypto:
    """Verify, decrypt and (for replies, the simulator and tests) encrypt WeCom callbacks."""

    def __init__(
        self,
        token: str,
        aes_key: str,
        corp_id: str,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not token or not corp_id:
            raise ValueError("token and corp_id are required")
        self.token = token
        self.corp_id = corp_id
        self._key = decode_aes_key(aes_key)
        self._random_bytes = random_bytes

    # -- the primitives -------------------------------------------------------------------

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str) -> str:
        """The base64 Encrypt value for ``message``."""
        body = message.encode("utf-8")
        prefix = self._random_bytes(16)
        if len(prefix) != 16:
            raise ValueError("random_bytes must return 16 bytes")
        plain = prefix + struct.pack(">I", len(body)) + body + self.corp_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        cipher_text = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        return base64.b64encode(cipher_text).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        """The message inside a base64 Encrypt value; checks padding and the receive id."""
        try:
            cipher_text = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("invalid base64") from None
        if not cipher_text or len(cipher_text) % 16:
            raise DecryptError("invalid ciphertext length")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(cipher_text) + decryptor.finalize())
        if len(plain) < 20:
            raise DecryptError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise DecryptError("invalid message length")
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receive_id, self.corp_id.encode("utf-8")):
            raise ReceiveIdError("receive id does not match the CorpID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError("message is not UTF-8") from None

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, data: str) -> None:
        try:
            expected = signature(self.token, timestamp, nonce, data).encode("ascii")
            given = msg_signature.encode("utf-8")
        except UnicodeError:
            raise SignatureError("signature mismatch") from None
        if not hmac.compare_digest(expected, given):
            raise SignatureError("signature mismatch")

    # -- the callback side ----------------------------------------------------------------

    def verify_url(
        self, msg_signature: str, timestamp: str, nonce: str, echostr: str, now: int | None = None
    ) -> str:
        """URL verification (GET): check the signature (and the timestamp when ``now`` is
        given), answer the decrypted echostr."""
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        if now is not None:
            check_timestamp(timestamp, now)
        return self.decrypt(echostr)

    def decrypt_message(
        self, body: bytes, msg_signature: str, timestamp: str, nonce: str, now: int
    ) -> str:
        """The decrypted XML of a POSTed callback.

        Only the envelope ``<xml><ToUserName/><AgentID/><Encrypt/></xml>`` is parsed before
        the signature is checked; the plaintext is not parsed here at all.
        """
        root = parse_xml(body)
        node = root.find("Encrypt")
        encrypt = (node.text or "").strip() if node is not None else ""
        if not encrypt:
            raise MalformedXmlError("missing Encrypt")
        self._check_signature(msg_signature, timestamp, nonce, encrypt)
        check_timestamp(timestamp, now)
        return self.decrypt(encrypt)

    # -- the sending side (passive replies, the simulator, tests) -------------------------

    def encrypt_message(self, xml: str, nonce: str, timestamp: str | int) -> str:
        """A passive reply: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        timestamp = str(timestamp)
        encrypt = self.encrypt(xml)
        sig = signature(self.token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp>"
            f"<Nonce><![CDATA[{_cdata_safe(nonce)}]]></Nonce></xml>"
        )

    def build_callback(
        self, xml: str, *, timestamp: str | int, nonce: str, agent_id: int | str = ""
    ) -> SignedCallback:
        """A signed POST as WeCom sends it: query parameters plus the envelope body."""
        timestamp = str(timestamp)
        encrypt = self.encrypt(xml)
        body = (
            f"<xml><ToUserName><![CDATA[{_cdata_safe(self.corp_id)}]]></ToUserName>"
            f"<AgentID><![CDATA[{_cdata_safe(str(agent_id))}]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        query = {
            "msg_signature": signature(self.token, timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return SignedCallback(query=query, body=body.encode("utf-8"))

    def build_url_verification(
        self, echo: str, *, timestamp: str | int, nonce: str
    ) -> dict[str, str]:
        """The query string of a URL verification GET whose decrypted echostr is ``echo``."""
        timestamp = str(timestamp)
        echostr = self.encrypt(echo)
        return {
            "msg_signature": signature(self.token, timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }


def check_timestamp(timestamp: str, now: int, skew: int = MAX_TIMESTAMP_SKEW) -> int:
    """The timestamp as an int; StaleTimestampError if it is not within ``skew`` of ``now``."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise StaleTimestampError("timestamp is not a number")
    value = int(timestamp)
    if abs(now - value) > skew:
        raise StaleTimestampError("timestamp too far from now")
    return value


def _cdata_safe(text: str) -> str:
    if "]]>" in text:
        raise ValueError("text cannot contain ']]>'")
    return text
