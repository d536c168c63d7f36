"""WeComClient against the fake API served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable

import fakeredis
import pytest
import redis

from bot.devtools.simulator.api_server import FakeWeComServer
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.wecom import cards
from bot.wecom.client import NewsArticle, OAuthUser, WeComClient
from bot.wecom.errors import WeComAPIError, WeComNetworkError, WeComTimeout

CORP_ID, SECRET, AGENT_ID = "wwfakecorp", "fake-secret", 1000002  # as in conftest.py
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

MakeClient = Callable[..., WeComClient]


def button_card(task_id: str) -> dict:
    return cards.button_interaction(
        "请为本次活动评分",
        task_id=task_id,
        buttons=[cards.Button("rate:1:good", "满意"), cards.Button("rate:1:bad", "不满意", 2)],
    )


# -- tokens -------------------------------------------------------------------------------


def test_token_is_cached_in_redis_and_shared_by_two_clients(
    make_client: MakeClient, fake: FakeWeCom, redis_client: fakeredis.FakeRedis
) -> None:
    first, second = make_client(), make_client()
    first.send_text("zhangsan", "你好")
    second.send_text("lisi", "你好")
    first.get_user("lisi")
    assert len(fake.calls("gettoken")) == 1
    keys = [key.decode() for key in redis_client.keys("test:wecom:access_token:*")]
    assert len(keys) == 1
    assert 0 < redis_client.ttl(keys[0]) <= 7200 - 300


def test_concurrent_first_calls_fetch_one_token(make_client: MakeClient, fake: FakeWeCom) -> None:
    clients = [make_client() for _ in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients))

    def work(client: WeComClient) -> None:
        try:
            barrier.wait()
            client.get_user("zhangsan")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(fake.calls("gettoken")) == 1
    assert len(fake.calls("user/get")) == 8


def test_invalid_token_is_refreshed_once_and_retried(client: WeComClient, fake: FakeWeCom) -> None:
    client.send_text("zhangsan", "一")
    fake.revoke_tokens()
    result = client.send_text("zhangsan", "二")
    assert result.msgid
    assert len(fake.calls("gettoken")) == 2
    assert [m.content["content"] for m in fake.sent_to("zhangsan")] == ["一", "二"]


def test_expired_token_42001_is_refreshed(client: WeComClient, fake: FakeWeCom) -> None:
    client.get_user("zhangsan")
    fake.expire_tokens()
    assert client.get_user("zhangsan")["name"] == "张三"
    assert len(fake.calls("gettoken")) == 2


def test_token_error_twice_gives_up_after_one_refresh(client: WeComClient, fake: FakeWeCom) -> None:
    fake.inject_fault("user/get", errcode=40014, times=2)
    with pytest.raises(WeComAPIError) as caught:
        client.get_user("zhangsan")
    assert caught.value.errcode == 40014
    assert len(fake.calls("gettoken")) == 2


def test_wrong_secret_is_reported(make_client: MakeClient) -> None:
    with pytest.raises(WeComAPIError) as caught:
        make_client(secret="wrong").send_text("zhangsan", "你好")
    assert caught.value.errcode == 40001


def test_token_shared_through_a_real_redis(server: FakeWeComServer, fake: FakeWeCom) -> None:
    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("redis"):
        pytest.skip("REDIS_URL does not point at a Redis server")
    real = redis.Redis.from_url(url, socket_timeout=2)
    prefix = f"test-wecom-{uuid.uuid4().hex[:8]}:"
    try:
        for _ in range(2):
            WeComClient(
                corp_id=CORP_ID,
                secret=SECRET,
                agent_id=AGENT_ID,
                redis_client=real,
                key_prefix=prefix,
                api_base=server.base_url,
            ).get_user("zhangsan")
        assert len(fake.calls("gettoken")) == 1
    finally:
        for key in real.scan_iter(match=prefix + "*"):
            real.delete(key)


# -- throttling, busy, hangs, dead hosts --------------------------------------------------


def test_45009_backs_off_and_retries_without_sleeping(
    client: WeComClient, fake: FakeWeCom, sleeps: list[float]
) -> None:
    fake.inject_fault("message/send", errcode=45009, times=2)
    assert client.send_text("zhangsan", "稍后").msgid
    assert sleeps == [60.0, 120.0]
    assert len(fake.sent_to("zhangsan")) == 1


def test_system_busy_retries_with_short_backoff(
    client: WeComClient, fake: FakeWeCom, sleeps: list[float]
) -> None:
    fake.inject_fault("message/send", errcode=-1, times=1)
    assert client.send_text("zhangsan", "忙").msgid
    assert sleeps == [1.0]


def test_throttling_retries_are_bounded(
    make_client: MakeClient, fake: FakeWeCom, sleeps: list[float]
) -> None:
    fake.inject_fault("message/send", errcode=45009, times=10)
    with pytest.raises(WeComAPIError) as caught:
        make_client(max_retries=2).send_text("zhangsan", "x")
    assert caught.value.errcode == 45009
    assert len(sleeps) == 2
    assert len(fake.calls("message/send")) == 3
    assert fake.sent_to("zhangsan") == []


def test_other_errors_are_not_retried(client: WeComClient, fake: FakeWeCom) -> None:
    fake.inject_fault("message/send", errcode=60020)
    with pytest.raises(WeComAPIError) as caught:
        client.send_text("zhangsan", "x")
    assert caught.value.errcode == 60020
    assert len(fake.calls("message/send")) == 1


def test_hung_call_times_out(make_client: MakeClient, fake: FakeWeCom) -> None:
    client = make_client(timeout=0.5)
    client.access_token()
    fake.inject_fault("message/send", hang=True)
    started = time.monotonic()
    with pytest.raises(WeComTimeout):
        client.send_text("zhangsan", "x")
    assert time.monotonic() - started < 3
    fake.release_hangs()


def test_hung_gettoken_times_out(make_client: MakeClient, fake: FakeWeCom) -> None:
    fake.inject_fault("gettoken", hang=True)
    with pytest.raises(WeComTimeout):
        make_client(timeout=0.5).get_user("zhangsan")
    fake.release_hangs()


def test_hung_media_download_times_out(make_client: MakeClient, fake: FakeWeCom) -> None:
    client = make_client(timeout=0.5, media_timeout=0.5)
    media_id = client.upload_media("image", "a.png", PNG)
    fake.inject_fault("media/get", hang=True)
    with pytest.raises(WeComTimeout):
        client.download_media(media_id)
    fake.release_hangs()


def test_unreachable_host_is_a_network_error(redis_client: fakeredis.FakeRedis) -> None:
    client = WeComClient(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        redis_client=redis_client,
        api_base="http://127.0.0.1:9",
        timeout=1,
    )
    with pytest.raises(WeComNetworkError):
        client.send_text("zhangsan", "x")


# -- api_base -----------------------------------------------------------------------------


def test_api_base_with_a_path_is_honoured_for_gettoken_and_media(
    fake: FakeWeCom, redis_client: fakeredis.FakeRedis
) -> None:
    with FakeWeComServer(fake, url_prefix="/sim/wecom") as prefixed:
        assert prefixed.base_url.endswith("/sim/wecom")
        client = WeComClient(
            corp_id=CORP_ID,
            secret=SECRET,
            agent_id=AGENT_ID,
            redis_client=redis_client,
            api_base=prefixed.base_url + "/",
        )
        media_id = client.upload_media("file", "plan.txt", b"hello world")
        assert client.download_media(media_id).content == b"hello world"
    assert fake.calls() == ["gettoken", "media/upload", "media/get"]


# -- sending ------------------------------------------------------------------------------


def test_invaliduser_is_reported(client: WeComClient, fake: FakeWeCom) -> None:
    result = client.send_text(["zhangsan", "ghost", "lisi", "nobody"], "通知")
    assert result.invalid_users == ("ghost", "nobody")
    assert fake.last_body("message/send")["touser"] == "zhangsan|ghost|lisi|nobody"
    assert len(fake.sent_to("zhangsan")) == len(fake.sent_to("lisi")) == 1
    assert fake.sent_to("ghost") == []


def test_all_recipients_invalid_is_81013(client: WeComClient) -> None:
    with pytest.raises(WeComAPIError) as caught:
        client.send_text(["ghost"], "x")
    assert caught.value.errcode == 81013


def test_recipient_limits(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValueError):
        client.send_text([f"u{i}" for i in range(1001)], "x")
    with pytest.raises(ValueError):
        client.send_text([], "x")
    with pytest.raises(ValueError):
        client.send_text("a|b", "x")
    result = client.send_text([f"u{i}" for i in range(999)] + ["zhangsan"], "x")
    assert len(result.invalid_users) == 999
    assert fake.calls("gettoken") and len(fake.calls("message/send")) == 1


def test_content_limit_checked_before_sending(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValueError):
        client.send_text("zhangsan", "字" * 683)  # 2,049 bytes
    with pytest.raises(ValueError):
        client.send_markdown("zhangsan", "")
    assert fake.calls("message/send") == []
    client.send_markdown("zhangsan", "字" * 682 + "xx")  # exactly 2,048 bytes
    assert fake.sent_to("zhangsan")[0].msgtype == "markdown"


def test_duplicate_check_options_are_sent(client: WeComClient, fake: FakeWeCom) -> None:
    client.send_text("zhangsan", "x", enable_duplicate_check=True, duplicate_check_interval=600)
    body = fake.last_body("message/send")
    assert body["enable_duplicate_check"] == 1
    assert body["duplicate_check_interval"] == 600
    assert body["agentid"] == AGENT_ID
    with pytest.raises(ValueError):
        client.send_text("zhangsan", "x", enable_duplicate_check=True, duplicate_check_interval=0)


def test_every_message_type(client: WeComClient, fake: FakeWeCom) -> None:
    media_id = client.upload_media("image", "photo.png", PNG)
    file_id = client.upload_media("file", "总结.docx", b"PK\x03\x04 document")
    client.send_text("zhangsan", "文本")
    client.send_markdown("zhangsan", "**加粗**")
    client.send_textcard(
        "zhangsan", title="待评分", description="请为活动评分", url="https://example.org/r"
    )
    client.send_news("zhangsan", [NewsArticle("标题", "https://example.org/n")])
    client.send_image("zhangsan", media_id)
    client.send_file("zhangsan", file_id)
    client.send_template_card(
        "zhangsan", cards.text_notice("通知", url="https://example.org/t", desc="说明")
    )
    kinds = [m.msgtype for m in fake.sent_to("zhangsan")]
    assert kinds == [
        "text",
        "markdown",
        "textcard",
        "news",
        "image",
        "file",
        "template_card",
    ]


def test_unknown_media_id_is_refused(client: WeComClient) -> None:
    with pytest.raises(WeComAPIError) as caught:
        client.send_image("zhangsan", "no-such-media")
    assert caught.value.errcode == 40007


# -- template cards -----------------------------------------------------------------------


def test_interactive_card_returns_a_response_code(client: WeComClient, fake: FakeWeCom) -> None:
    result = client.send_template_card(["zhangsan", "lisi"], button_card("rate-1"))
    assert result.response_code
    delivered = fake.sent_to("lisi")[0]
    assert delivered.task_id == "rate-1"
    assert delivered.content["button_list"][0]["key"] == "rate:1:good"


def test_notice_card_has_no_response_code(client: WeComClient) -> None:
    result = client.send_template_card(
        "zhangsan", cards.news_notice("新闻", url="https://e.org", image_url="https://e.org/p")
    )
    assert result.response_code == ""


def test_reused_task_id_is_42014(client: WeComClient, fake: FakeWeCom) -> None:
    client.send_template_card("zhangsan", button_card("once-1"))
    with pytest.raises(WeComAPIError) as caught:
        client.send_template_card("lisi", button_card("once-1"))
    assert caught.value.errcode == 42014
    assert fake.sent_to("lisi") == []


def test_missing_task_id_on_an_interactive_card_is_42014(client: WeComClient) -> None:
    card = button_card("x")
    del card["task_id"]
    with pytest.raises(WeComAPIError) as caught:
        client.send_template_card("zhangsan", card)
    assert caught.value.errcode == 42014


@pytest.mark.parametrize(
    "breakage",
    [
        lambda card: card.update(card_type="fancy_card"),
        lambda card: card.update(button_list=[]),
        lambda card: card.update(button_list=card["button_list"] * 4),  # 8 buttons
        lambda card: card["button_list"][0].pop("key"),
        lambda card: card["main_title"].pop("title"),
        lambda card: card["button_list"][0].update(style=9),
    ],
)
def test_malformed_card_is_refused(client: WeComClient, fake: FakeWeCom, breakage) -> None:
    card = button_card("broken-1")
    breakage(card)
    with pytest.raises(WeComAPIError) as caught:
        client.send_template_card("zhangsan", card)
    assert caught.value.errcode == 40058
    assert fake.sent_to("zhangsan") == []


def test_vote_and_multiple_cards_are_accepted(client: WeComClient) -> None:
    vote = cards.vote_interaction(
        "本次活动满意度",
        task_id="vote-1",
        question_key="score",
        options=[cards.Option(str(n), f"{n} 分") for n in range(1, 6)],
        submit_key="vote:1",
    )
    multiple = cards.multiple_interaction(
        "安排",
        task_id="multi-1",
        selects=[
            cards.Select(
                "when", "时间", [cards.Option("sat", "周六"), cards.Option("sun", "周日")]
            ),
            cards.Select("where", "地点", [cards.Option("lib", "图书馆")], selected_id="lib"),
        ],
        submit_key="multi:1",
    )
    assert client.send_template_card("zhangsan", vote).response_code
    assert client.send_template_card("zhangsan", multiple).response_code


def test_update_template_card_works_once(client: WeComClient, fake: FakeWeCom) -> None:
    sent = client.send_template_card(["zhangsan", "lisi"], button_card("upd-1"))
    updated = cards.button_interaction(
        "已评分",
        task_id="upd-1",
        buttons=[cards.Button("done", "已提交", 4)],
    )
    result = client.update_template_card(["zhangsan"], sent.response_code, updated)
    assert result.invalid_users == ()
    last = fake.sent_to("zhangsan")[-1]
    assert last.msgtype == "update_template_card"
    assert last.replaces == fake.sent_to("zhangsan")[0].msgid
    assert last.content["main_title"]["title"] == "已评分"
    with pytest.raises(WeComAPIError):
        client.update_template_card(["zhangsan"], sent.response_code, updated)


def test_tap_response_code_updates_the_button_text(client: WeComClient, fake: FakeWeCom) -> None:
    client.send_template_card(["zhangsan", "lisi"], button_card("tap-1"))
    code = fake.issue_response_code("lisi", "tap-1")
    result = client.update_template_card(["lisi", "zhangsan"], code, replace_name="已选择：满意")
    assert result.invalid_users == ("zhangsan",)
    assert fake.sent_to("lisi")[-1].content == {"replace_name": "已选择：满意"}
    assert fake.sent_to("zhangsan")[-1].msgtype == "template_card"
    with pytest.raises(WeComAPIError):
        client.update_template_card(["lisi"], code, replace_name="again")
    with pytest.raises(ValueError):
        client.update_template_card(["lisi"], code)


# -- media --------------------------------------------------------------------------------


def test_media_round_trip(client: WeComClient, fake: FakeWeCom) -> None:
    media_id = client.upload_media("image", "活动照片.png", PNG)
    media = client.download_media(media_id)
    assert media.content == PNG
    assert media.content_type == "image/png"
    assert media.filename == "活动照片.png"
    content, content_type, _ = client.download_media(media_id)
    assert (content, content_type) == (PNG, "image/png")


def test_inbound_media_from_the_simulator_can_be_downloaded(
    client: WeComClient, fake: FakeWeCom
) -> None:
    media_id = fake.store_media(b"\xff\xd8\xff jpeg", "IMG_1.jpg", "image/jpeg", "image")
    assert client.download_media(media_id) == (b"\xff\xd8\xff jpeg", "image/jpeg", "IMG_1.jpg")


def test_media_errors(client: WeComClient) -> None:
    with pytest.raises(WeComAPIError) as caught:
        client.download_media("missing")
    assert caught.value.errcode == 40007
    with pytest.raises(WeComAPIError) as caught:
        client.upload_media("image", "x.png", b"tiny")
    assert caught.value.errcode == 40006
    with pytest.raises(WeComAPIError) as caught:
        client.upload_media("image", "x.gif", b"GIF89a........")
    assert caught.value.errcode == 40005
    with pytest.raises(ValueError):
        client.upload_media("sticker", "x.png", PNG)


def test_download_refreshes_an_invalid_token(client: WeComClient, fake: FakeWeCom) -> None:
    media_id = client.upload_media("file", "a.txt", b"contents")
    fake.revoke_tokens()
    assert client.download_media(media_id).content == b"contents"


# -- users, OAuth, menu -------------------------------------------------------------------


def test_get_user(client: WeComClient) -> None:
    user = client.get_user("lisi")
    assert (user["userid"], user["name"], user["mobile"]) == ("lisi", "李四", "13800000000")
    assert "errcode" not in user
    with pytest.raises(WeComAPIError) as caught:
        client.get_user("ghost")
    assert caught.value.errcode == 60111


def test_oauth_code_is_single_use(client: WeComClient, fake: FakeWeCom) -> None:
    code = fake.issue_oauth_code("zhangsan")
    assert client.get_userinfo_by_code(code) == OAuthUser(userid="zhangsan")
    assert fake.calls("auth/getuserinfo") == ["auth/getuserinfo"]
    with pytest.raises(WeComAPIError) as caught:
        client.get_userinfo_by_code(code)
    assert caught.value.errcode == 40029


def test_oauth_code_expires_after_five_minutes(make_client: MakeClient) -> None:
    now = [1_700_000_000.0]
    fake = FakeWeCom(
        CORP_ID, SECRET, AGENT_ID, clock=lambda: now[0], callback_url="https://e.org/cb"
    )
    fake.add_user("zhangsan", "张三")
    with FakeWeComServer(fake) as other:
        client = make_client(api_base=other.base_url, redis_client=fakeredis.FakeRedis())
        code = fake.issue_oauth_code("zhangsan")
        now[0] += 301
        with pytest.raises(WeComAPIError) as caught:
            client.get_userinfo_by_code(code)
    assert caught.value.errcode == 40029


def test_oauth_for_a_non_member_has_no_userid(client: WeComClient, fake: FakeWeCom) -> None:
    user = client.get_userinfo_by_code(fake.issue_oauth_code("outsider"))
    assert user.userid is None and user.openid


def test_create_menu(client: WeComClient, fake: FakeWeCom) -> None:
    menu = {
        "button": [
            {"type": "click", "name": "记录", "key": "menu:record"},
            {
                "name": "更多",
                "sub_button": [
                    {"type": "click", "name": "帮助", "key": "menu:help"},
                    {"type": "view", "name": "上传", "url": "https://example.org/upload"},
                ],
            },
        ]
    }
    client.create_menu(menu)
    assert fake.menu == menu
    with pytest.raises(WeComAPIError) as caught:
        client.create_menu({"button": []})
    assert caught.value.errcode == 40016
