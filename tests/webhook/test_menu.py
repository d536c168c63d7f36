import copy

import pytest

from handlers import build_dispatcher
from handlers.menu import click_keys, menu_definition
from tests.live import serve


def test_every_menu_key_has_a_handler():
    dispatcher = build_dispatcher()
    for key in click_keys():
        assert dispatcher.find("menu_keys", key) is not None, key


def test_menu_create_reaches_wecom(settings_overrides):
    with serve(settings_overrides) as live:
        result = live.app.test_cli_runner().invoke(args=["menu", "create"])
        assert result.exit_code == 0, result.output
        assert "应用菜单已更新" in result.output
        assert live.simulator.state.menu == menu_definition()


def test_the_menu_stays_within_wecom_limits():
    from handlers.menu import MAX_BUTTONS, MAX_SUB_BUTTONS, MENU, check_menu

    check_menu(MENU)
    assert 1 <= len(MENU) <= MAX_BUTTONS
    for button in MENU:
        assert len(button["name"].encode()) <= 16
        for sub in button.get("sub_button", []):
            assert len(sub["name"].encode()) <= 40
        assert 1 <= len(button.get("sub_button", [None])) <= MAX_SUB_BUTTONS


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda menu: menu.append({"type": "click", "name": "多余", "key": "x"}), "一级按钮"),
        (
            lambda menu: menu[0]["sub_button"].append(
                {"type": "click", "name": "第六个", "key": "sixth"}
            ),
            "子按钮",
        ),
        (lambda menu: menu[2].update(name="帮助与常见问题解答"), "字节"),
        (lambda menu: menu[0]["sub_button"][0].update(key=menu[1]["sub_button"][0]["key"]), "重复"),
    ],
)
def test_a_menu_beyond_the_limits_is_refused(change, error):
    from handlers.menu import MENU, check_menu

    menu = copy.deepcopy(MENU)
    change(menu)
    with pytest.raises(ValueError, match=error):
        check_menu(menu)


def test_every_record_kind_is_at_most_two_taps_from_the_menu():
    """A kind is a 记录 button (one tap) or a button of the 其他记录 card (two taps)."""
    from bot.core.models import RecordKind
    from bot.records.flow import FLOWS, PICKER_KINDS, START_RECORD
    from handlers import record_flow

    record_keys = {leaf["key"] for leaf in menu_definition()["button"][0]["sub_button"]}
    assert record_flow.MENU_OTHER in record_keys
    one_tap = {kind for key, kind in record_flow._MENU_KINDS.items() if key in record_keys}
    two_taps = {kind.value for kind in PICKER_KINDS}
    in_talk = {RecordKind.COUNSELLOR_TALK.value, RecordKind.LEADER_TALK.value}  # 沟通谈话 → who
    assert (one_tap | two_taps | in_talk) >= set(FLOWS)
    assert all(START_RECORD.pack(kind) for kind in two_taps)
