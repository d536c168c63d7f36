import os
import re
import subprocess
import sys

import pytest

from bot import create_app
from bot.core.settings import SettingsError, load_settings


def test_missing_variable_is_named(settings_overrides):
    del settings_overrides["WECOM_TOKEN"]
    with pytest.raises(SettingsError, match="WECOM_TOKEN is not set"):
        create_app(settings_overrides)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WECOM_AES_KEY", "short", "WECOM_AES_KEY must be 43 characters"),
        ("WECOM_AES_KEY", "!" * 43, "WECOM_AES_KEY is not base64"),
        ("WECOM_AGENT_ID", "abc", "WECOM_AGENT_ID"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE is not a known IANA time zone"),
        ("REDIS_URL", "http://x", "REDIS_URL must start with"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a sqlite"),
        ("WECOM_API_BASE", "qyapi", "WECOM_API_BASE must be an http(s) URL"),
    ],
)
def test_malformed_value_is_named(settings_overrides, name, value, fragment):
    settings_overrides[name] = value
    with pytest.raises(SettingsError, match=re.escape(fragment)):
        load_settings(settings_overrides, env_file=None)


def test_defaults(settings_overrides, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "WECOM_API_BASE", "TIMEZONE", "STORAGE_DIR"):
        settings_overrides.pop(name, None)
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(settings_overrides, env_file=None)
    assert settings.WECOM_API_BASE == "https://qyapi.weixin.qq.com"
    assert settings.TIMEZONE == "Asia/Shanghai"
    assert settings.REDIS_URL == "memory://"
    assert settings.database_url("/srv/x") == "sqlite:////srv/x/mentor-bot.sqlite3"
    assert str(settings.storage_dir("/srv/x")) == "/srv/x/storage"


def test_flask_command_stops_with_one_line(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bot", "db", "current"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WECOM_CORP_ID is not set" in lines[0]
    assert "Traceback" not in result.stderr
