"""Every error page is in Chinese: an expired form (CSRF) says 页面已过期 in its title, and
werkzeug's English pages (Bad Request, Not Found, Method Not Allowed) never show."""

from __future__ import annotations

import re

import pytest

from bot.core.models import Role
from tests.factories import add_person, signed_in

ENGLISH = ("Bad Request", "Not Found", "Method Not Allowed", "Forbidden", "Internal Server Error")


def _title(page) -> str:
    return re.search(r"<title>(.*?)</title>", page.get_data(as_text=True), re.S).group(1).strip()


@pytest.fixture
def mentor(database) -> str:
    with database.session() as session:
        add_person(session, "wanglaoshi", "王老师", Role.MENTOR)
    return "wanglaoshi"


def test_an_expired_form_has_a_chinese_title(app, mentor):
    browser = signed_in(app, mentor)
    page = browser.post("/m/upload", data={"purpose": "monthly_plan", "csrf": "old"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "页面已过期" in _title(page)
    assert "页面已过期，请刷新后重试。" in text
    assert not [word for word in ENGLISH if word in text]


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("get", "/m/no-such-page", 404, "页面不存在"),
        ("get", "/no-such-page", 404, "页面不存在"),
        ("get", "/m/upload/../../etc", 404, "页面不存在"),
        ("put", "/m/upload", 405, "不支持这种操作"),
    ],
)
def test_other_errors_are_chinese_too(app, mentor, method, path, status, title):
    page = getattr(signed_in(app, mentor), method)(path)
    assert page.status_code == status
    assert page.mimetype == "text/html"
    assert title in _title(page)
    text = page.get_data(as_text=True)
    assert not [word for word in ENGLISH if word in text]
    if status == 405:
        assert "POST" in page.headers["Allow"]
