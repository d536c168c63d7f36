"""The HTTP path under :class:`bot.wecom.client.WeComClient`: wechatpy's session made to honour
``api_base`` and timeouts everywhere, and the access token shared by every process in Redis."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis
import requests
import structlog
from wechatpy.enterprise import WeChatClient

from bot.wecom.errors import WeComAPIError, WeComNetworkError, WeComTimeout

MAX_ANSWER_BYTES = 25 * 1024 * 1024

log = structlog.get_logger("bot.wecom.client")


class WeChatpyTransport(WeChatClient):
    """wechatpy's enterprise client, made to honour ``api_base`` and timeouts everywhere.

    Tokens never come from here: every call carries the token WeComClient passes in.
    """

    def __init__(self, corp_id: str, secret: str, *, api_base: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{api_base}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        """gettoken at our API base, with a timeout (wechatpy hard-codes the host)."""
        return self.get("gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        if url_or_endpoint.startswith(("http://", "https://")):
            raise ValueError("only endpoints relative to the API base are allowed")
        kwargs.pop("api_base_url", None)
        raw = kwargs.pop("raw", False)
        if url_or_endpoint != "gettoken" and "access_token" not in (kwargs.get("params") or {}):
            raise ValueError("every call carries the access token WeComClient passes in")
        url = self.API_BASE_URL + url_or_endpoint.lstrip("/")
        if isinstance(kwargs.get("data"), dict):
            kwargs["data"] = json.dumps(kwargs["data"], ensure_ascii=False).encode("utf-8")
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json; charset=utf-8"
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        try:
            res = self._http.request(method=method, url=url, **kwargs)
        except requests.Timeout:
            raise WeComTimeout(f"{url_or_endpoint}: timed out") from None
        except requests.RequestException as exc:
            raise WeComNetworkError(f"{url_or_endpoint}: {type(exc).__name__}") from None
        if res.status_code != 200:
            res.close()
            raise WeComNetworkError(f"{url_or_endpoint}: HTTP {res.status_code}")
        if raw and res.headers.get("Content-Disposition"):
            return res  # media; an error answer is JSON without a Content-Disposition
        try:
            return self._handle_result(_read_json(res, url_or_endpoint))
        finally:
            res.close()

    def _handle_result(self, res: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(res, dict):
            raise WeComNetworkError("answer is not a JSON object")
        errcode = as_int(res.get("errcode", 0))
        if errcode != 0:
            raise WeComAPIError(errcode, str(res.get("errmsg", "")), res)
        return res


class TokenCache:
    """The access token in Redis, shared by every process; refreshed by one at a time."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        fetch: Callable[[], dict[str, Any]],
        *,
        lock_seconds: float,
        wait_polls: int = 300,
        poll_interval: float = 0.05,
        margin: int = 300,
    ) -> None:
        self.redis = client
        self.key = key
        self.lock_key = key + ":lock"
        self.fetch = fetch
        self.lock_ms = int(lock_seconds * 1000)
        self.wait_polls = wait_polls
        self.poll_interval = poll_interval
        self.margin = margin

    def _cached(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def get(self) -> str:
        return self._cached() or self.refresh(stale=None)

    def refresh(self, stale: str | None) -> str:
        """A token other than ``stale``: someone else's fresh one, or one we fetch."""
        owner = secrets.token_hex(16)
        for _ in range(self.wait_polls):
            current = self._cached()
            if current and current != stale:
                return current
            if self.redis.set(self.lock_key, owner, nx=True, px=self.lock_ms):
                try:
                    return self._fetch_locked(stale)
                finally:
                    self._release(owner)
            time.sleep(self.poll_interval)
        raise WeComNetworkError("timed out waiting for another process to refresh the token")

    def _fetch_locked(self, stale: str | None) -> str:
        current = self._cached()
        if current and current != stale:
            return current
        result = self.fetch()
        token = str(result.get("access_token") or "")
        if not token:
            raise WeComNetworkError("gettoken answered without an access_token")
        expires_in = as_int(result.get("expires_in", 7200)) or 7200
        ttl = expires_in - self.margin if expires_in > 2 * self.margin else max(1, expires_in // 2)
        self.redis.set(self.key, token, ex=ttl)
        log.info("wecom_token_refreshed", ttl=ttl)
        return token

    def _release(self, owner: str) -> None:
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(self.lock_key)
                value = pipe.get(self.lock_key)
                if (value.decode() if isinstance(value, bytes) else value) == owner:
                    pipe.multi()
                    pipe.delete(self.lock_key)
                    pipe.execute()
                else:
                    pipe.unwatch()
            except redis.WatchError:
                pass


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -999


def _read_json(res: requests.Response, endpoint: str) -> Any:
    try:
        return json.loads(read_limited(res, MAX_ANSWER_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WeComNetworkError(f"{endpoint}: answer is not JSON") from None


def read_limited(res: requests.Response, limit: int) -> bytes:
    chunks = []
    size = 0
    try:
        for chunk in res.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise WeComNetworkError("answer too large")
            chunks.append(chunk)
    except requests.Timeout:
        raise WeComTimeout("timed out reading the answer") from None
    except requests.RequestException as exc:
        raise WeComNetworkError(f"reading the answer failed: {type(exc).__name__}") from None
    return b"".join(chunks)
