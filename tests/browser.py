"""Headless Chromium for the browser tests (Debian's package; a browser is never downloaded)
and a background outbox sender so the chat page sees replies as a phone would.

A test module uses ``require_chromium()`` at import, then ``chromium_context()`` and
``running_sender(live)``. Without Chromium the module is skipped with a plain message, except
under CI, where a missing Chromium fails the run."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.core.db import get_database
from bot.outbox import runner
from tests.live import LiveApp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> Any:
    """The playwright.sync_api module, or skip (fail under CI) the calling test module."""
    api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None and os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: install Debian's chromium", pytrace=False)
    if CHROMIUM is None:
        pytest.skip(
            "浏览器测试已跳过：未找到 chromium（apt-get install chromium）",
            allow_module_level=True,
        )
    return api


@contextmanager
def chromium_context(**options: Any) -> Iterator[Any]:
    """A fresh browser context (pages share cookies, as in one phone's WeCom)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_context(**options)
        finally:
            browser.close()


@contextmanager
def running_sender(live: LiveApp) -> Iterator[None]:
    """The outbox sender in a thread, delivering to the simulator until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(
        target=runner.run_forever,
        args=(
            get_database(live.app),
            live.app.extensions["wecom_client"],
            live.app.extensions["redis"],
        ),
        kwargs={"idle_seconds": 0.1, "stop": stop, "files": live.files},
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
