"""The floor for the callback benchmark: a Flask endpoint that only verifies and decrypts."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, request

from bot.wecom.crypto import CallbackRejected, WeComCrypto

app = Flask(__name__)
crypto = WeComCrypto(
    os.environ["WECOM_TOKEN"], os.environ["WECOM_AES_KEY"], os.environ["WECOM_CORP_ID"]
)


@app.post("/wecom/callback")
def callback() -> Response:
    args = request.args
    try:
        crypto.decrypt_message(
            request.get_data(),
            args.get("msg_signature", ""),
            args.get("timestamp", ""),
            args.get("nonce", ""),
            now=int(time.time()),
        )
    except CallbackRejected:
        return Response("", status=403)
    return Response("")
