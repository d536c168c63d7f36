"""The CJK font the picture tests need (Debian's ``fonts-noto-cjk``; ``.ci/run`` installs it).

A test about a picture takes the ``cjk_font`` fixture (tests/conftest.py): without a font it is
skipped with a message. A test that checks a picture among much else asks
:func:`cjk_font_installed` and, without a font, checks instead that the text went out without
the picture (what the app does then). Under CI a missing font fails both, as the browser tests
fail without Chromium."""

from __future__ import annotations

import os
import warnings

import pytest

from bot.core import fonts

SKIPPED = (
    "未找到中文字体，图片测试已跳过（apt-get install fonts-noto-cjk）"
    " / no CJK font installed: picture test skipped (Debian: apt-get install fonts-noto-cjk)"
)
LEFT_OUT = (
    "未找到中文字体，只检查了没有图片时的消息（apt-get install fonts-noto-cjk）"
    " / no CJK font installed: checked the messages without the picture"
)
REQUIRED = (
    "CI must run the picture tests: install Debian's fonts-noto-cjk"
    " / 持续集成必须运行图片测试：请安装 fonts-noto-cjk"
)


def cjk_font_installed() -> bool:
    """Whether a CJK font is installed; without one a warning says the picture was not
    checked, and under CI the test fails."""
    if fonts.cjk_family() is not None:
        return True
    if os.environ.get("CI"):
        pytest.fail(REQUIRED, pytrace=False)
    warnings.warn(LEFT_OUT, stacklevel=2)
    return False


def require_cjk_font() -> str:
    """The installed CJK family, or skip the test (fail it under CI)."""
    family = fonts.cjk_family()
    if family is None:
        if os.environ.get("CI"):
            pytest.fail(REQUIRED, pytrace=False)
        pytest.skip(SKIPPED)
    return family
