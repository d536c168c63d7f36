"""`flask --app bot roster check-wecom`: the imported roster against the simulator's WeCom
contact book (agent/get, department/list, user/list, user/get), served for real; read-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result

from bot.core.models import Person, PersonKind
from tests.live import LiveApp, serve
from tests.roster.helpers import do_import, small_roster, table_counts

STUDENTS, STAFF, ELSEWHERE = 2, 3, 4


@pytest.fixture
def live(settings_overrides: dict[str, Any]) -> Iterator[LiveApp]:
    """The small roster imported, and WeCom's contact book holding exactly its people:
    students in 学生, staff in 教职工, the app visible to both departments."""
    with serve(settings_overrides) as running:
        database = running.app.extensions["database"]
        do_import(database, small_roster())
        state = running.simulator.state
        state.directory.add_department(STUDENTS, "学生")
        state.directory.add_department(STAFF, "教职工")
        state.directory.add_department(ELSEWHERE, "校外")
        with database.session() as session:
            for person in session.scalars(sa.select(Person)):
                department = STUDENTS if person.kind == PersonKind.STUDENT else STAFF
                state.add_user(person.userid, person.name, department=[department])
        state.directory.set_visible_range(partys=[STUDENTS, STAFF])
        yield running


def check(live: LiveApp, *args: str) -> Result:
    return live.app.test_cli_runner().invoke(args=["roster", "check-wecom", *args])


def roster_size(live: LiveApp) -> int:
    with live.app.extensions["database"].session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Person))


def test_a_contact_book_that_matches_passes(live: LiveApp) -> None:
    result = check(live)
    assert result.exit_code == 0, result.stdout
    total = roster_size(live)
    assert f"✓ 名册中的 {total} 人都在应用的可见范围内，姓名一致" in result.stdout
    assert "部门 2 个（连同下级部门，应用可见的部门共 2 个）" in result.stdout
    assert "✗" not in result.stdout
    # one user/list per visible department, no per-person look-ups
    assert len(live.simulator.state.calls("user/list")) == 2
    assert live.simulator.state.calls("user/get") == []


def test_unknown_outside_renamed_and_not_activated_are_listed(live: LiveApp) -> None:
    state = live.simulator.state
    database = live.app.extensions["database"]
    state.remove_user("xiehui")  # a student WeCom does not know
    state.add_user("wanglaoshi", "王建国", department=[ELSEWHERE])  # outside the range
    state.add_user("chenjing", "陈晶", department=[STAFF])  # another name in WeCom
    state.remove_user("wuyuyao")
    state.add_user("WuYuYao", "武雨瑶", department=[STUDENTS])  # same id, other case: fine
    state.add_user("xuguilei", "许桂蕾", department=[ELSEWHERE])
    state.directory.allow_users = ["xuguilei"]  # added to the range one by one
    state.add_user("cs_admin", "周敏", department=[STAFF], status=4)  # not activated yet
    state.add_user("visitor", "访客", department=[STUDENTS])
    before = table_counts(database)

    result = check(live)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "企业微信通讯录核对（只读，没有改动名册或企业微信）"
    at = lines.index(
        "✗ 企业微信中没有这些账号（1 人）：在企业微信通讯录中添加他们，或改正名册中的企业微信账号"
    )
    assert lines[at + 1] == "  xiehui 谢辉（学生 2022010002）"
    at = lines.index(
        "✗ 在企业微信中，但不在应用的可见范围内（1 人）：把他们或他们的部门加入应用的可见范围，"
        "否则收不到消息"
    )
    assert lines[at + 1] == "  wanglaoshi 王建国（教职工 19980001）"
    at = lines.index("✗ 姓名不一致（1 人）：改正名册或企业微信中的姓名")
    assert lines[at + 1] == "  chenjing：名册“陈静”，企业微信“陈晶”"
    at = lines.index("⚠ 未激活或已停用（1 人）：激活前收不到消息")
    assert lines[at + 1].startswith("  cs_admin 周敏（教职工 ")
    assert lines[at + 1].endswith("：未激活")
    assert "可见范围内另有 1 人不在名册中（他们找机器人时会被告知不在名单中）" in lines
    assert "wuyuyao" not in result.stdout.lower()  # the same id in another case
    assert "xuguilei" not in result.stdout
    # the two missing people were looked up one by one; nothing was changed or sent
    assert len(state.calls("user/get")) == 3  # xuguilei, wanglaoshi, xiehui
    assert table_counts(database) == before
    assert all(state.sent_to(userid) == [] for userid in ("xiehui", "wanglaoshi", "chenjing"))
    with database.session() as session:
        chenjing = session.scalar(sa.select(Person).where(Person.userid == "chenjing"))
        assert chenjing is not None and chenjing.name == "陈静" and chenjing.active


def test_look_ups_are_bounded_and_the_rest_listed_as_unchecked(live: LiveApp) -> None:
    state = live.simulator.state
    for userid in ("xiehui", "wuyuyao"):
        state.remove_user(userid)
    result = check(live, "--max-lookups", "1", "--show", "1")
    assert result.exit_code == 1
    assert "✗ 企业微信中没有这些账号（1 人）" in result.stdout
    assert "✗ 未逐一核对（不在可见范围的成员列表中，超过了查询上限）（1 人）" in result.stdout
    assert len(state.calls("user/get")) == 1


def test_a_long_list_is_cut_at_show(live: LiveApp) -> None:
    live.simulator.state.directory.set_visible_range(partys=[STAFF])  # no student visible
    result = check(live, "--show", "2")
    assert result.exit_code == 1
    assert "✗ 在企业微信中，但不在应用的可见范围内（12 人）" in result.stdout
    assert "  ……另有 10 人（用 --show 显示更多）" in result.stdout


def test_a_failing_call_says_why(live: LiveApp) -> None:
    live.simulator.state.inject_fault("agent/get", errcode=60020, errmsg="not allow to access")
    result = check(live)
    assert result.exit_code == 1
    assert "读取企业微信通讯录失败：本机的出口 IP 不在应用的「企业可信IP」中" in result.stderr
    assert "（errcode 60020）" in result.stderr
