"""The files in deploy/ are exercised here: the environment template, the systemd units
(systemd-analyze verify, same commands as the Procfile) and the nginx site (a real nginx in
front of the app: TLS, redirect, body limit, /metrics refused, proxy headers)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3

from bot.core.settings import Settings
from tests.live import free_port, serve

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {
    "mentor-bot-web.service": "web",
    "mentor-bot-sender@.service": "sender",
    "mentor-bot-scheduler.service": "scheduler",
    "mentor-bot-media.service": "media",
}


def _procfile() -> dict[str, str]:
    commands = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            commands[name] = command.strip()
    return commands


def test_env_template_explains_every_setting():
    text = (DEPLOY / "mentor-bot.env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert named == set(Settings.model_fields)


def test_env_template_values_are_valid(tmp_path):
    values = {}
    for line in (DEPLOY / "mentor-bot.env.example").read_text(encoding="utf-8").splitlines():
        name, sep, value = line.lstrip("#").partition("=")
        if sep and re.fullmatch(r"[A-Z][A-Z0-9_]+", name) and value:
            values[name] = value
    required = {name for name, field in Settings.model_fields.items() if field.is_required()}
    filled = {
        "WECOM_CORP_ID": "ww1",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "s",
        "WECOM_TOKEN": "t",
        "WECOM_AES_KEY": "a" * 43,
        "SECRET_KEY": "k",
        "CARE_NOTES_KEY": "Y2FyZS1ub3Rlcy10ZXN0LWtleS0zMi1ieXRlcy1hYmM=",
    }
    assert required <= set(filled)
    Settings(_env_file=None, **{**values, **filled})


@pytest.mark.parametrize(("unit", "process"), sorted(UNITS.items()))
def test_systemd_unit_runs_the_procfile_command(unit, process):
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(.+)$", text, flags=re.MULTILINE).group(1)
    procfile = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", _procfile()[process]).replace("'", "")
    assert exec_start.removeprefix("/opt/mentor-bot/.venv/bin/") == procfile


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_units_verify(tmp_path):
    venv = Path(sys.executable).parent
    for unit in UNITS:
        text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
        text = text.replace("/opt/mentor-bot/.venv/bin", str(venv)).replace(
            "/opt/mentor-bot", str(ROOT)
        )
        text = text.replace("/etc/mentor-bot/mentor-bot.env", str(tmp_path / "env"))
        text = re.sub(r"^(User|Group)=.*$", "", text, flags=re.MULTILINE)
        (tmp_path / unit).write_text(text, encoding="utf-8")
    (tmp_path / "env").write_text("", encoding="utf-8")
    instance = tmp_path / "mentor-bot-sender@1.service"
    instance.symlink_to(tmp_path / "mentor-bot-sender@.service")
    units = [str(tmp_path / unit) for unit in UNITS if "@" not in unit] + [str(instance)]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "err"},
    )
    assert result.returncode == 0, result.stderr


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture
def nginx_in_front(settings_overrides, tmp_path):
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the nginx test: install Debian's nginx-light", pytrace=False)
        pytest.skip("nginx test skipped: no nginx found (apt-get install nginx-light)")
    with (
        serve({**settings_overrides, "TRUSTED_PROXIES": 1}) as live,
        tempfile.TemporaryDirectory(prefix="wecom-verify-") as verify_dir,
    ):
        app_port = live.base_url.rsplit(":", 1)[1]
        http_port, https_port = free_port(), free_port()
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(tmp_path / "key.pem"),
                "-out",
                str(tmp_path / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        site = (DEPLOY / "nginx" / "mentor-bot.conf").read_text(encoding="utf-8")
        site = (
            site.replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
            .replace("listen [::]:80;", "")
            .replace("listen [::]:443 ssl;", "")
            .replace("/etc/ssl/mentor-bot/fullchain.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/ssl/mentor-bot/privkey.pem", str(tmp_path / "key.pem"))
            .replace("/etc/mentor-bot/wecom-verify", verify_dir)
        )
        verify_file = Path(verify_dir) / "WW_verify_Ab12Cd34Ef56Gh78.txt"
        verify_file.write_text("Ab12Cd34Ef56Gh78", encoding="ascii")
        # as in production, nginx's workers (nobody when started as root) must read it
        Path(verify_dir).chmod(0o755)
        verify_file.chmod(0o644)
        (tmp_path / "site.conf").write_text(site, encoding="utf-8")
        (tmp_path / "nginx.conf").write_text(
            "worker_processes 1; pid nginx.pid; error_log error.log;\n"
            "events { worker_connections 64; }\n"
            "http { access_log off; client_body_temp_path body; proxy_temp_path proxy;\n"
            f"  include {tmp_path / 'site.conf'}; }}\n",
            encoding="utf-8",
        )
        base = ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        checked = subprocess.run([NGINX, "-t", *base], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([NGINX, *base, "-g", "daemon off;"], start_new_session=True)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{http_port}/", timeout=1, allow_redirects=False)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            yield http_port, https_port
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def test_nginx_site_in_front_of_the_app(nginx_in_front):
    http_port, https_port = nginx_in_front
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    https = f"https://127.0.0.1:{https_port}"
    redirect = requests.get(f"http://127.0.0.1:{http_port}/healthz", allow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith("https://")
    health = requests.get(f"{https}/healthz", verify=False, timeout=5)
    assert health.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", health.headers["X-Request-Id"])  # nginx's $request_id
    assert requests.get(f"{https}/metrics", verify=False, timeout=5).status_code == 403
    too_big = requests.post(
        f"{https}/wecom/callback", data=b"x" * (26 * 1024 * 1024), verify=False, timeout=30
    )
    assert too_big.status_code == 413


def test_nginx_serves_the_trusted_domain_verification_file(nginx_in_front):
    """WeCom's 可信域名 check fetches /WW_verify_*.txt from the domain's root, by either scheme."""
    http_port, https_port = nginx_in_front
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    for base in (f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}"):
        answer = requests.get(
            f"{base}/WW_verify_Ab12Cd34Ef56Gh78.txt", verify=False, allow_redirects=False
        )
        assert answer.status_code == 200
        assert answer.text == "Ab12Cd34Ef56Gh78"
        assert answer.headers["Content-Type"].startswith("text/plain")
        missing = requests.get(f"{base}/WW_verify_other.txt", verify=False, allow_redirects=False)
        assert missing.status_code == 404
    # anything else on port 80 still goes to HTTPS; other names are the app's
    plain = requests.get(f"http://127.0.0.1:{http_port}/WW_verify_x.txt.bak", allow_redirects=False)
    assert plain.status_code == 301
