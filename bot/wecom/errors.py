"""What can go wrong talking to WeCom, as exceptions."""

from __future__ import annotations

from typing import Any


class WeComError(Exception):
    """Any failure talking to WeCom."""


class WeComAPIError(WeComError):
    """WeCom answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(f"WeCom error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.response = response or {}


class WeComNetworkError(WeComError):
    """No usable answer: connection refused, HTTP error status, not JSON, too large."""


class WeComTimeout(WeComNetworkError):
    """The call did not complete within its timeout."""
