"""The fake WeCom API's own rules, through Flask's test client (no network)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from bot.devtools.simulator.api_server import create_fake_api_app
from bot.devtools.simulator.fake_api import FakeWeCom

NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> FakeWeCom:
    fake = FakeWeCom("wwcorp", "secret", 7, clock=clock, callback_url="https://e.org/cb")
    fake.add_user("zhangsan", "张三")
    fake.add_user("lisi", "李四")
    return fake


@pytest.fixture
def http(state: FakeWeCom) -> FlaskClient:
    return create_fake_api_app(state).test_client()


def token(http: FlaskClient) -> str:
    answer = http.get("/cgi-bin/gettoken?corpid=wwcorp&corpsecret=secret").get_json()
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    return answer["access_token"]


def send(http: FlaskClient, body: dict[str, Any], access_token: str | None = None) -> dict:
    access_token = access_token or token(http)
    data = json.dumps({"agentid": 7, "touser": "zhangsan", **body}, ensure_ascii=False)
    return http.post(f"/cgi-bin/message/send?access_token={access_token}", data=data).get_json()


def card(**extra: Any) -> dict:
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "评分"},
            "task_id": "t-1",
            "button_list": [{"text": "好", "key": "good"}],
            **extra,
        },
    }


def test_gettoken_checks_corpid_and_secret(http: FlaskClient) -> None:
    bad_corp = http.get("/cgi-bin/gettoken?corpid=other&corpsecret=secret").get_json()
    bad_secret = http.get("/cgi-bin/gettoken?corpid=wwcorp&corpsecret=nope").get_json()
    assert (bad_corp["errcode"], bad_secret["errcode"]) == (40013, 40001)


def test_tokens_expire_after_7200_seconds(http: FlaskClient, clock: Clock) -> None:
    access_token = token(http)
    text = {"msgtype": "text", "text": {"content": "hi"}}
    assert send(http, text, access_token)["errcode"] == 0
    clock.now += 7200
    assert send(http, text, access_token)["errcode"] == 42001
    assert send(http, text, "made-up")["errcode"] == 40014
    answer = http.post("/cgi-bin/message/send", data="{}").get_json()
    assert answer["errcode"] == 41001


def test_message_send_validation(http: FlaskClient, state: FakeWeCom) -> None:
    assert send(http, {"msgtype": "sticker", "sticker": {}})["errcode"] == 40008
    assert send(http, {"msgtype": "text", "text": {"content": ""}})["errcode"] == 44004
    long_text = {"msgtype": "text", "text": {"content": "x" * 2049}}
    assert send(http, long_text)["errcode"] == 45002
    assert send(http, {"msgtype": "text", "text": {"content": "x"}, "agentid": 8})["errcode"] == (
        40056
    )
    assert send(http, {"msgtype": "textcard", "textcard": {"title": "t"}})["errcode"] == 40058
    assert send(http, {"msgtype": "news", "news": {"articles": []}})["errcode"] == 40058
    access_token = token(http)
    garbage = http.post(f"/cgi-bin/message/send?access_token={access_token}", data=b"\xff{")
    assert garbage.get_json()["errcode"] == 47001
    assert state.sent_to("zhangsan") == []


def test_at_all_reaches_everyone(http: FlaskClient, state: FakeWeCom) -> None:
    answer = send(http, {"touser": "@all", "msgtype": "text", "text": {"content": "全体"}})
    assert answer["errcode"] == 0 and answer["invaliduser"] == ""
    assert len(state.sent_to("zhangsan")) == len(state.sent_to("lisi")) == 1


@pytest.mark.parametrize(
    ("extra", "errcode"),
    [
        ({"card_type": "vote_interaction"}, 40058),  # no checkbox
        ({"card_type": "multiple_interaction", "select_list": []}, 40058),
        ({"card_type": "text_notice"}, 42045),  # no card_action: 缺失或不合法
        ({"card_type": "news_notice", "card_action": {"type": 1, "url": "https://e.org"}}, 40058),
        ({"button_list": [{"text": "a", "key": "k"}, {"text": "b", "key": "k"}]}, 40058),
        ({"card_action": {"type": 1, "url": "ftp://x"}}, 42045),
    ],
)
def test_malformed_cards(http: FlaskClient, extra: dict, errcode: int) -> None:
    assert send(http, card(**extra))["errcode"] == errcode


@pytest.mark.parametrize("task_id", ["", "has space", "x" * 129, None])
def test_bad_task_ids_are_42014(http: FlaskClient, task_id: str | None) -> None:
    assert send(http, card(task_id=task_id))["errcode"] == 42014


def test_all_invalid_does_not_use_up_the_task_id(http: FlaskClient) -> None:
    assert send(http, {**card(), "touser": "ghost"})["errcode"] == 81013
    assert send(http, card())["errcode"] == 0


def test_response_code_expires_after_72_hours(
    http: FlaskClient, state: FakeWeCom, clock: Clock
) -> None:
    access_token = token(http)
    code = send(http, card(), access_token)["response_code"]
    fresh = send(http, card(task_id="t-2"), access_token)["response_code"]

    def update(response_code: str) -> int:
        body = {"userids": ["zhangsan"], "agentid": 7, "response_code": response_code}
        return http.post(
            f"/cgi-bin/message/update_template_card?access_token={token(http)}",
            data=json.dumps({**body, "button": {"replace_name": "x"}}),
        ).get_json()["errcode"]

    assert update(fresh) == 0
    assert update(fresh) == 42022  # once only (the errcode is not confirmed by WeCom's docs)
    clock.now += 72 * 3600
    assert update(code) == 60140  # 无效的response_code: 可能是response_code已经过期


def test_update_must_keep_the_task_id(http: FlaskClient) -> None:
    access_token = token(http)
    code = send(http, card(), access_token)["response_code"]
    other = card(task_id="t-2")["template_card"]
    answer = http.post(
        f"/cgi-bin/message/update_template_card?access_token={access_token}",
        data=json.dumps(
            {"userids": ["zhangsan"], "agentid": 7, "response_code": code, "template_card": other}
        ),
    ).get_json()
    assert answer["errcode"] == 40058


def test_tap_code_only_for_recipients(http: FlaskClient, state: FakeWeCom) -> None:
    send(http, card())
    with pytest.raises(KeyError):
        state.issue_response_code("lisi", "t-1")
    with pytest.raises(KeyError):
        state.issue_response_code("zhangsan", "nope")
    assert state.issue_response_code("zhangsan", "t-1")


def test_faults(http: FlaskClient, state: FakeWeCom) -> None:
    access_token = token(http)
    state.inject_fault(errcode=-1, times=2)
    text = {"msgtype": "text", "text": {"content": "x"}}
    assert send(http, text, access_token)["errcode"] == -1
    assert http.get("/cgi-bin/gettoken").get_json()["errcode"] == -1
    assert send(http, text, access_token)["errcode"] == 0
    state.inject_fault("user/get", errcode=45009)
    state.clear_faults()
    assert http.get(f"/cgi-bin/user/get?access_token={access_token}&userid=lisi").get_json()[
        "name"
    ] == ("李四")
    with pytest.raises(ValueError):
        state.inject_fault("user/get")


def test_media_upload_needs_a_file(http: FlaskClient, state: FakeWeCom) -> None:
    access_token = token(http)
    answer = http.post(f"/cgi-bin/media/upload?access_token={access_token}&type=file").get_json()
    assert answer["errcode"] == 41004
    answer = http.post(f"/cgi-bin/media/upload?access_token={access_token}&type=gif").get_json()
    assert answer["errcode"] == 40004


def test_media_expires_after_three_days(http: FlaskClient, state: FakeWeCom, clock: Clock) -> None:
    media_id = state.store_media(b"\xff\xd8\xff....", "a.jpg", "image/jpeg", "image")
    access_token = token(http)
    ok = http.get(f"/cgi-bin/media/get?access_token={access_token}&media_id={media_id}")
    assert ok.data == b"\xff\xd8\xff...."
    assert ok.headers["Content-Disposition"] == 'attachment; filename="a.jpg"'
    clock.now += 3 * 24 * 3600
    access_token = token(http)
    gone = http.get(f"/cgi-bin/media/get?access_token={access_token}&media_id={media_id}")
    assert gone.get_json()["errcode"] == 40007


def test_oauth_authorize_redirect(http: FlaskClient, state: FakeWeCom) -> None:
    response = http.get(
        "/connect/oauth2/authorize?appid=wwcorp&redirect_uri=http%3A%2F%2F127.0.0.1%2Fp%3Fa%3D1"
        "&response_type=code&scope=snsapi_base&state=s1&agentid=7&sim_userid=lisi"
    )
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert (target.path, query["a"], query["state"]) == ("/p", ["1"], ["s1"])
    access_token = token(http)
    code = query["code"][0]
    answer = http.get(f"/cgi-bin/auth/getuserinfo?access_token={access_token}&code={code}")
    assert answer.get_json()["userid"] == "lisi"
    wrong_app = http.get("/connect/oauth2/authorize?appid=x&redirect_uri=http://h/&sim_userid=a")
    assert wrong_app.status_code == 400


def test_menu_rules(http: FlaskClient, state: FakeWeCom) -> None:
    access_token = token(http)

    def create(menu: dict, agentid: int = 7) -> int:
        url = f"/cgi-bin/menu/create?access_token={access_token}&agentid={agentid}"
        return http.post(url, data=json.dumps(menu)).get_json()["errcode"]

    good = {"button": [{"type": "click", "name": "帮助", "key": "help"}]}
    assert create(good, agentid=8) == 40056
    assert create({"button": [{"type": "scan", "name": "x"}]}) == 40058
    assert create({"button": [{"name": "x", "sub_button": []}]}) == 40016
    assert state.menu is None
    assert create(good) == 0
    assert state.menu == good


def test_unknown_api(http: FlaskClient) -> None:
    access_token = token(http)
    answer = http.get(f"/cgi-bin/agent/list?access_token={access_token}").get_json()
    assert answer["errcode"] != 0


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"msgtype": "template_card", "template_card": {"card_type": ["x"]}},
        {"msgtype": "template_card", "template_card": {"card_type": "button_interaction"}},
        card(button_list=["not an object"]),
        card(button_list=[{"text": 1, "key": {}}]),
        card(main_title="title"),
        card(card_type="vote_interaction", checkbox={"question_key": "q", "option_list": [1]}),
        card(card_type="multiple_interaction", select_list=[[]], submit_button="s"),
        card(card_action=[1]),
        {"msgtype": "news", "news": {"articles": ["x"]}},
        {"msgtype": "image", "image": {"media_id": ["x"]}},
        {"msgtype": "text", "text": {"content": ["x"]}},
        {"msgtype": "text", "text": {"content": "x"}, "touser": ["zhangsan"]},
        {"msgtype": "text", "text": {"content": "x"}, "agentid": {"a": 1}},
        {
            "msgtype": "text",
            "text": {"content": "x"},
            "enable_duplicate_check": 1,
            "duplicate_check_interval": "soon",
        },
    ],
)
def test_garbage_is_an_errcode_never_a_crash(http: FlaskClient, body: Any) -> None:
    access_token = token(http)
    payload = body if not isinstance(body, dict) else {"agentid": 7, "touser": "zhangsan", **body}
    for endpoint in ("message/send", "message/update_template_card", "menu/create"):
        response = http.post(
            f"/cgi-bin/{endpoint}?access_token={access_token}&agentid=7", data=json.dumps(payload)
        )
        assert response.status_code == 200
        assert response.get_json()["errcode"] != 0


def test_update_with_garbage_userids(http: FlaskClient) -> None:
    access_token = token(http)
    code = send(http, card(), access_token)["response_code"]
    answer = http.post(
        f"/cgi-bin/message/update_template_card?access_token={access_token}",
        data=json.dumps(
            {
                "userids": [{"a": 1}],
                "agentid": 7,
                "response_code": code,
                "button": {"replace_name": "x"},
            }
        ),
    ).get_json()
    assert answer["errcode"] == 40058


def test_duplicate_check_drops_the_same_content_inside_the_interval(
    http: FlaskClient, state: FakeWeCom, clock: Clock
) -> None:
    """As WeCom: with enable_duplicate_check, the same content to the same person within the
    interval is dropped without an error (errcode 0); other content, other people, a send
    without the check and a send after the interval all arrive."""
    text = {"msgtype": "text", "text": {"content": "帮助"}}
    checked = {**text, "enable_duplicate_check": 1, "duplicate_check_interval": 600}
    assert send(http, text)["errcode"] == 0
    clock.now += 599
    assert send(http, checked)["errcode"] == 0  # dropped
    assert send(http, {**checked, "text": {"content": "别的"}})["errcode"] == 0
    assert send(http, {**checked, "touser": "lisi"})["errcode"] == 0
    assert send(http, text)["errcode"] == 0  # no check asked: arrives
    clock.now += 600
    assert send(http, checked)["errcode"] == 0  # the last 帮助 was 600 s ago
    texts = [item.content["content"] for item in state.sent_to("zhangsan")]
    assert texts == ["帮助", "别的", "帮助", "帮助"]
    assert [item.content["content"] for item in state.sent_to("lisi")] == ["帮助"]


def test_user_ids_are_case_insensitive_and_invaliduser_lower_cased(
    http: FlaskClient, state: FakeWeCom
) -> None:
    answer = send(http, {"msgtype": "text", "text": {"content": "hi"}, "touser": "ZhangSan|Ghost"})
    assert (answer["errcode"], answer["invaliduser"]) == (0, "ghost")
    assert [item.userid for item in state.sent_to("zhangsan")] == ["zhangsan"]
    gone = send(http, {"msgtype": "text", "text": {"content": "hi"}, "touser": "Ghost"})
    assert (gone["errcode"], gone["invaliduser"]) == (81013, "ghost")


def test_card_action_type_must_be_1_or_2(http: FlaskClient) -> None:
    """text_notice and news_notice: card_action.type 取值范围为[1,2]."""
    notice = {
        "msgtype": "template_card",
        "template_card": {"card_type": "text_notice", "main_title": {"title": "通知"}},
    }
    for action, errcode in (
        ({"type": 0}, 42045),  # doc 90313: Template_Card.card_action 缺失或不合法
        ({"type": 3, "url": "https://e.org"}, 42045),
        ({"type": 1, "url": "https://e.org"}, 0),
    ):
        notice["template_card"]["card_action"] = action
        assert send(http, notice)["errcode"] == errcode


def test_interactive_cards_need_the_apps_callback_url(clock: Clock) -> None:
    """Without 接收消息 (a callback URL) an app sends no card a person answers; notices go."""
    state = FakeWeCom("wwcorp", "secret", 7, clock=clock)
    state.add_user("zhangsan", "张三")
    http = create_fake_api_app(state).test_client()
    refused = send(http, card())
    assert refused["errcode"] == 43012 and "callback" in refused["errmsg"]  # 应用需配置回调url
    notice = {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "text_notice",
            "main_title": {"title": "通知"},
            "card_action": {"type": 1, "url": "https://e.org"},
        },
    }
    assert send(http, notice)["errcode"] == 0


def test_callers_outside_the_trusted_ips_get_60020(clock: Clock) -> None:
    for trusted, errcode in (("10.0.0.0/8, 192.168.1.7", 60020), ("10.0.0.0/8,127.0.0.1", 0)):
        state = FakeWeCom("wwcorp", "secret", 7, clock=clock, trusted_ips=trusted)
        http = create_fake_api_app(state).test_client()  # calls come from 127.0.0.1
        answer = http.get("/cgi-bin/gettoken?corpid=wwcorp&corpsecret=secret").get_json()
        assert answer["errcode"] == errcode
