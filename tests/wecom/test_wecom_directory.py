"""The contact book and app settings as a self-built app reads them: the fake API answers
agent/get, department/list, user/list, user/simplelist, user/get and menu/get field by field
as WeCom documents them, and bot/wecom/directory.py reads those answers."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from bot.devtools.simulator.api_server import create_fake_api_app
from bot.devtools.simulator.fake_api import FakeWeCom
from bot.wecom import directory
from bot.wecom.client import WeComClient
from bot.wecom.errors import WeComAPIError
from tests.wecom.conftest import AGENT_ID, CORP_ID, SECRET


@pytest.fixture
def school(fake: FakeWeCom) -> FakeWeCom:
    """学校(1) → 学生(2) → 计算机学院学生(5); 教职工(3); 校外(4). Range: 2 (and 5), wangwu."""
    fake.directory.add_department(2, "学生")
    fake.directory.add_department(3, "教职工")
    fake.directory.add_department(4, "校外")
    fake.directory.add_department(5, "计算机学院学生", parentid=2, order=7)
    fake.directory.departments[2]["department_leader"] = ["zhangsan", "laozhao"]
    fake.add_user("zhangsan", "张三", department=[5, 3], position="学生")  # replaces the fixture's
    fake.add_user("lisi", "李四", department=[2], mobile="13800000000", status=4)
    fake.add_user("laozhao", "赵老师", department=[3])
    fake.add_user("wangwu", "王五", department=[4])
    fake.directory.set_visible_range(partys=[2], users=["WangWu"])
    return fake


@pytest.fixture
def http(school: FakeWeCom) -> FlaskClient:
    return create_fake_api_app(school).test_client()


def get(http: FlaskClient, endpoint: str, **args: object) -> dict:
    token = http.get(f"/cgi-bin/gettoken?corpid={CORP_ID}&corpsecret={SECRET}").get_json()
    query = "&".join(f"{k}={v}" for k, v in {**args, "access_token": token["access_token"]}.items())
    return json.loads(http.get(f"/cgi-bin/{endpoint}?{query}").data)


def test_agent_get_answers_the_documented_fields(http: FlaskClient, school: FakeWeCom) -> None:
    school.directory.redirect_domain = "mentor.example.edu.cn"
    assert get(http, "agent/get", agentid=AGENT_ID) == {
        "errcode": 0,
        "errmsg": "ok",
        "agentid": AGENT_ID,
        "name": "全生异科导师",
        "square_logo_url": "",
        "description": "导师台账、学生评价与年度考核",
        "allow_userinfos": {"user": [{"userid": "WangWu"}]},
        "allow_partys": {"partyid": [2]},
        "allow_tags": {"tagid": []},
        "close": 0,
        "redirect_domain": "mentor.example.edu.cn",
        "report_location_flag": 0,
        "isreportenter": 1,
        "home_url": "",
    }
    assert get(http, "agent/get", agentid=999)["errcode"] == 40056


def test_department_list_is_the_visible_range_and_below(http: FlaskClient) -> None:
    answer = get(http, "department/list")
    assert answer["department"] == [
        {
            "id": 2,
            "name": "学生",
            "name_en": "",
            "department_leader": ["zhangsan"],  # the leader outside the range is left out
            "parentid": 1,
            "order": 0,
        },
        {
            "id": 5,
            "name": "计算机学院学生",
            "name_en": "",
            "department_leader": [],
            "parentid": 2,
            "order": 7,
        },
    ]
    assert [d["id"] for d in get(http, "department/list", id=5)["department"]] == [5]
    assert get(http, "department/list", id=3)["errcode"] == 60011
    assert get(http, "department/list", id=99)["errcode"] == 60123


def test_user_list_per_department_without_the_fields_new_apps_lose(http: FlaskClient) -> None:
    answer = get(http, "user/list", department_id=2)
    assert answer["userlist"] == [
        {
            "userid": "lisi",
            "name": "李四",
            "department": [2],
            "order": [0],
            "position": "",
            "is_leader_in_dept": [0],
            "direct_leader": [],
            "telephone": "",
            "alias": "",
            "status": 4,
            "main_department": 2,
        }
    ]  # no mobile, avatar, gender, email or address; zhangsan is in 5, not listed here
    (zhangsan,) = get(http, "user/list", department_id=5)["userlist"]
    assert zhangsan["department"] == [5]  # 3 is outside the range
    assert zhangsan["position"] == "学生"
    assert get(http, "user/simplelist", department_id=5)["userlist"] == [
        {"userid": "zhangsan", "name": "张三", "department": [5]}
    ]
    assert get(http, "user/list", department_id=3)["errcode"] == 60011
    assert get(http, "user/list", department_id=99)["errcode"] == 60123
    assert get(http, "user/list")["errcode"] == 40058


def test_user_get_is_case_insensitive_and_bounded_by_the_range(http: FlaskClient) -> None:
    assert get(http, "user/get", userid="ZhangSan")["userid"] == "zhangsan"
    assert get(http, "user/get", userid="wangwu")["department"] == []  # added one by one
    assert get(http, "user/get", userid="laozhao")["errcode"] == 60011
    assert get(http, "user/get", userid="ghost")["errcode"] == 60111


def test_menu_get_before_and_after_menu_create(client: WeComClient, school: FakeWeCom) -> None:
    assert directory.get_menu(client) is None
    menu = {"button": [{"type": "click", "name": "帮助", "key": "help"}]}
    client.create_menu(menu)
    assert directory.get_menu(client) == menu


def test_message_send_reaches_only_the_visible_range(
    client: WeComClient, school: FakeWeCom
) -> None:
    result = client.send_text(["zhangsan", "laozhao", "wangwu"], "通知")
    assert result.invalid_users == ("laozhao",)
    assert [m.userid for m in school.sent_to("zhangsan") + school.sent_to("wangwu")] == [
        "zhangsan",
        "wangwu",
    ]
    with pytest.raises(WeComAPIError) as caught:
        client.send_text("laozhao", "通知")
    assert caught.value.errcode == 81013
    assert school.sent_to("laozhao") == []


def test_directory_reads_the_answers(client: WeComClient, school: FakeWeCom) -> None:
    agent = directory.get_agent(client)
    assert (agent.agent_id, agent.name, agent.closed, agent.report_enter) == (
        AGENT_ID,
        "全生异科导师",
        False,
        True,
    )
    assert (agent.users, agent.partys, agent.tags) == (("WangWu",), (2,), ())
    assert not agent.range_is_empty
    departments = directory.list_departments(client)
    assert [(d.id, d.name, d.parent_id) for d in departments] == [
        (2, "学生", 1),
        (5, "计算机学院学生", 2),
    ]
    assert directory.list_members(client, 2) == [directory.Member("lisi", "李四", (2,), 4)]
    assert directory.get_member(client, "ZHANGSAN") == directory.Member("zhangsan", "张三", (5,))
    with pytest.raises(WeComAPIError) as caught:
        directory.get_member(client, "laozhao")
    assert caught.value.errcode == directory.NO_PRIVILEGE
    assert directory.userid_key(" ZhangSan ") == directory.userid_key("zhangsan")
