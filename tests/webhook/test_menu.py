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
