"""``/m/``: where sign-in without a ``next`` lands, listing what that person may open."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.core.models import Person
from bot.cycle import opening
from bot.cycle.cycles import Env
from tests.cycle.conftest import demo  # noqa: F401 (fixture)
from tests.factories import signed_in

ENV = Env("https://bot.example.edu.cn", None, None)  # type: ignore[arg-type]


def _links(app, userid: str) -> list[str]:
    page = signed_in(app, userid).get("/m/")
    assert page.status_code == 200
    return page.text


def test_each_person_sees_the_pages_they_may_open(app, database, demo):  # noqa: F811
    before = _links(app, "wanglaoshi")
    assert "王建国，您好" in before and "异科导师" in before
    assert "/m/upload?purpose=annual_summary" in before and "/m/cycle/" not in before

    with database.session() as session:
        office = session.scalar(sa.select(Person).where(Person.userid == "shuyuan_admin"))
        cycle = opening.open_cycle(
            session, year_code="2025-2026", actor=office, now=datetime.now(UTC), env=ENV
        )
        cycle_id = cycle.id

    mentor = _links(app, "wanglaoshi")
    assert f"/m/cycle/{cycle_id}/self" in mentor and "学年考核自评" in mentor
    college = _links(app, "cs_admin")
    assert f"/m/cycle/{cycle_id}/scores/college-{demo['CS']}" in college
    assert "计算机与物联网学院 2025-2026 学年考核评分表" in college
    assert "/scores/academy" not in college and "/self" not in college
    office_page = _links(app, "shuyuan_admin")
    assert f"/m/cycle/{cycle_id}/scores/academy" in office_page
    assert "results.xlsx" not in office_page  # nothing is published yet

    student = _links(app, "zhangsan")
    assert "这里暂时没有您可以打开的页面" in student and "/m/upload" not in student

    # every link offered opens for that person
    for userid in ("wanglaoshi", "cs_admin", "shuyuan_admin"):
        browser = signed_in(app, userid)
        for path in _offered(_links(app, userid)):
            assert browser.get(path).status_code == 200, (userid, path)


def test_without_sign_in_the_landing_page_sends_to_wecom(app):
    answer = app.test_client().get("/m/")
    assert answer.status_code == 302 and "oauth2/authorize" in answer.location


def _offered(page: str) -> list[str]:
    import re

    return [path.replace("&amp;", "&") for path in re.findall(r'href="(/m/[^"]+)"', page)]


def test_after_publication_mentors_find_their_result_and_the_office_the_results(
    app,
    database,
    demo,  # noqa: F811
):
    from tests.cycle.test_permissions import _publish

    cycle_id = _publish(app, database)
    mentor = _links(app, "wanglaoshi")
    assert f"/m/cycle/{cycle_id}/me" in mentor and "/self" not in mentor
    office = _links(app, "shuyuan_admin")
    assert f"/m/cycle/{cycle_id}/results.xlsx" in office
    for userid in ("wanglaoshi", "shuyuan_admin"):
        browser = signed_in(app, userid)
        for path in _offered(_links(app, userid)):
            assert browser.get(path).status_code == 200, (userid, path)
