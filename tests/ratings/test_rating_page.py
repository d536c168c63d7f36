"""WeChat-plugin users (微信插件) see no template cards (issue 17): the roster marks them and they
get a textcard linking the signed-in rating page /m/rate/<record>, with the card's rules (once,
participants only, within the window) and an audit entry; RATING_CHANNEL=page sends everyone
the textcard. End to end through the simulator, its OAuth sign-in included."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa

from bot.calendar import is_working_day
from bot.core.db import get_database
from bot.core.models import AuditEntry, Person, Rating, RatingRequest
from bot.outbox import sender
from bot.ratings import jobs
from tests.live import LiveApp
from tests.ratings.conftest import FOUR, POLICY, add_activity


def _messages(live: LiveApp, userid: str, msgtype: str) -> list[dict]:
    return [
        entry["payload"]
        for entry in live.simulator.conversation(userid)
        if entry["direction"] == "out" and entry["msgtype"] == msgtype
    ]


def _browser(userid: str) -> requests.Session:
    browser = requests.Session()
    browser.cookies.set("sim_userid", userid, domain="127.0.0.1", path="/simulator")
    return browser


def _rate(browser: requests.Session, url: str, choice: int) -> requests.Response:
    page = browser.get(url, timeout=10)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    csrf = found.group(1) if found else ""
    return browser.post(url, data={"csrf": csrf, "choice": str(choice)}, timeout=10)


def test_wechat_plugin_users_get_a_link_to_the_rating_page(live):
    database = get_database(live.app)
    with database.session() as session:
        session.execute(sa.update(Person).where(Person.userid == "lisi").values(wechat_plugin=True))
    now = datetime.now(UTC)
    record_id = add_activity(database, live.world, FOUR, now=now)
    policy = replace(POLICY, base_url=live.base_url)
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    assert live.drain().sent == 4
    assert _messages(live, "lisi", "template_card") == []
    [textcard] = _messages(live, "lisi", "textcard")
    assert textcard["title"] == "活动评价" and "读书沙龙" in textcard["description"]
    url = textcard["url"]
    assert url == f"{live.base_url}/m/rate/{record_id}"
    for userid in ("zhangsan", "zhousong", "wangwu1"):
        assert len(_messages(live, userid, "template_card")) == 1
        assert _messages(live, userid, "textcard") == []

    lisi = _browser("lisi")
    page = lisi.get(url, timeout=10)
    assert page.status_code == 200
    assert any("/connect/oauth2/authorize" in r.headers.get("Location", "") for r in page.history)
    assert "请评价您参加的这次活动" in page.text and "非常满意" in page.text
    assert "我没参加" in page.text
    done = _rate(lisi, url, 4)
    assert done.status_code == 200 and "已评价：满意，谢谢！" in done.text
    assert "您已经评价过这项活动了" in lisi.get(url, timeout=10).text  # no form left
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    again = lisi.post(url, data={"csrf": csrf, "choice": "1"}, timeout=10)  # a second submit
    assert again.status_code == 409 and "您已经评价过这项活动了" in again.text
    forged = lisi.post(url, data={"csrf": "x", "choice": "5"}, timeout=10)
    assert forged.status_code == 400
    with database.session() as session:
        ratings = session.execute(sa.select(Rating.student_id, Rating.level)).all()
        entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rate_page"))
    assert ratings == [(live.world.ids["lisi"], 4)]
    assert (entry.actor_id, entry.entity_id) == (live.world.ids["lisi"], str(record_id))
    assert entry.after == {"channel": "page"}  # the answer itself is not in the audit log

    # a participant who answered on the card sees it answered; outsiders cannot rate
    zhangsan_card = _messages(live, "zhangsan", "template_card")[0]
    key = next(b["key"] for b in zhangsan_card["button_list"] if b["text"] == "一般")
    live.simulator.tap_card(
        "zhangsan",
        task_id=zhangsan_card["task_id"],
        card_type="button_interaction",
        event_key=key,
        selected=[],
    )
    assert "您已经评价过" in _browser("zhangsan").get(url, timeout=10).text
    outsider = _browser("zhaoliu")
    assert outsider.get(url, timeout=10).status_code == 404
    assert outsider.post(url, data={"csrf": "", "choice": "5"}, timeout=10).status_code == 400
    # signed in with a valid token, lisi cannot rate an activity she was not asked about
    other = add_activity(database, live.world, ["zhangsan"], now=now, title="别的活动")
    refused = lisi.post(
        f"{live.base_url}/m/rate/{other}", data={"csrf": csrf, "choice": "5"}, timeout=10
    )
    assert refused.status_code == 409 and "只有参加这项活动的同学才能评价" in refused.text
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Rating.id))) == 2


def test_the_page_refuses_after_the_window(live):
    database = get_database(live.app)
    now = datetime.now(UTC)
    record_id = add_activity(database, live.world, FOUR, now=now)
    policy = replace(POLICY, base_url=live.base_url, channel="page")
    jobs.send_rating_cards(database, now, policy=policy)
    url = f"{live.base_url}/m/rate/{record_id}"
    browser = _browser("zhousong")
    page = browser.get(url, timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    with database.session() as session:  # the window ends while the page is open
        session.execute(sa.update(RatingRequest).values(expires_at=now - timedelta(minutes=1)))
    assert "评价已截止" in browser.get(url, timeout=10).text
    answer = browser.post(url, data={"csrf": csrf, "choice": "5"}, timeout=10)
    assert answer.status_code == 409 and "这项活动的评价已截止，本次提交未记录。" in answer.text
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count(Rating.id))) == 0


def test_rating_channel_page_sends_everyone_the_textcard_and_reminders_name_the_page(live):
    database = get_database(live.app)
    now = datetime.now(UTC)
    record_id = add_activity(database, live.world, FOUR, now=now)
    policy = replace(POLICY, base_url=live.base_url, channel="page")
    assert jobs.send_rating_cards(database, now, policy=policy) == 4
    later = now + timedelta(days=2, hours=1)
    while not is_working_day(later.astimezone(policy.zone).date()):
        later += timedelta(days=1)
    assert jobs.send_rating_reminders(database, later, policy=policy) == 4
    sender.drain_once(
        live.app.extensions["database"],
        live.app.extensions["wecom_client"],
        live.app.extensions["redis"],
        later,
        files=live.files,
    )
    for userid in FOUR:
        assert _messages(live, userid, "template_card") == []
        [textcard] = _messages(live, userid, "textcard")
        assert textcard["url"].endswith(f"/m/rate/{record_id}")
        [reminder] = _messages(live, userid, "text")
        assert f"/m/rate/{record_id}" in reminder["content"]
