"""`make demo`'s program, `python -m bot.devtools.demo`, started for real: bot and simulator
answer on one port, the scheduler runs as a process of its own beside it, and Ctrl+C stops
everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.core.redis_store import RedisStore
from bot.devtools.demo import stop_scheduler
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), command))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.slow
def test_the_demo_serves_the_simulator_with_a_scheduler_process_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "STORAGE_DIR", "STORAGE_URL")
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",  # not the checkout's instance/
        STORAGE_DIR=str(tmp_path / "storage"),
        HOME=str(tmp_path),
    )
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot.devtools.demo", "--port", str(port), "--no-browser"],
        cwd=tmp_path,  # instance/demo.env is written here
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # started as a shell's background job is: SIGINT ignored, which Python inherits
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        output = ""
        while "调度进程已启动" not in output or "演示已启动" not in output:
            assert demo.poll() is None, output
            assert time.monotonic() < deadline, output
            time.sleep(0.2)
            output = (tmp_path / "demo.log").read_text(encoding="utf-8", errors="replace")
        assert requests.get(base + "/healthz", timeout=10).status_code == 200
        page = requests.get(base + "/simulator/", timeout=10)
        assert page.status_code == 200 and "模拟" in page.text
        schedulers = [pid for pid, command in _children(demo.pid) if "-m scheduler" in command]
        assert len(schedulers) == 1, _children(demo.pid)
        assert (tmp_path / "instance" / "demo.env").exists()
        written = (tmp_path / "instance" / "demo.env").read_text(encoding="utf-8")
        [redis_line] = [line for line in written.splitlines() if line.startswith("REDIS_URL=")]
        assert f"调度进程的 Redis：{redis_line.removeprefix('REDIS_URL=')}" in output

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        assert not Path(f"/proc/{schedulers[0]}").exists()  # stopped with it, not orphaned
        with pytest.raises(requests.ConnectionError):
            requests.get(base + "/healthz", timeout=5)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=30)
        log.close()


def test_the_demo_writes_its_redis_address_and_reuses_it(tmp_path, monkeypatch):
    """The scheduler's Redis is written to instance/demo.env (so `python -m scheduler pause`
    with those settings reaches it) and the same port is taken again on a restart."""
    from bot.devtools.demo import demo_credentials, remember_redis, shared_redis

    monkeypatch.delenv("REDIS_URL", raising=False)
    env_file = tmp_path / "instance" / "demo.env"
    config = demo_credentials(env_file, 8000)
    url, server = shared_redis(config.get("REDIS_URL"))
    try:
        assert url.startswith("redis://127.0.0.1:")
        remember_redis(env_file, url)
        assert f"REDIS_URL={url}" in env_file.read_text(encoding="utf-8").splitlines()
        assert RedisStore(url, "demo-test:").ping()
    finally:
        server.shutdown()
        server.server_close()
    again = demo_credentials(env_file, 8000)  # a restart: the same address, not a random one
    assert again["REDIS_URL"] == url
    monkeypatch.setenv("REDIS_URL", url)  # even with demo.env's settings in the environment
    second, server = shared_redis(again["REDIS_URL"])
    try:
        assert second == url and RedisStore(second, "demo-test:").ping()
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("REDIS_URL", "redis://redis.example:6379/0")  # a real one is used as is
    assert shared_redis(url) == ("redis://redis.example:6379/0", None)


def test_stopping_the_demo_kills_a_scheduler_that_ignores_sigterm(capsys):
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout.readline() == b"ready\n"  # SIGTERM is ignored from here on
    started = time.monotonic()
    stop_scheduler(stubborn, grace=1.0)
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 30
    assert "已强制结束" in capsys.readouterr().err


@pytest.mark.slow
def test_a_demo_of_an_ended_year_lets_the_office_open_its_assessment(tmp_path):
    """`make demo YEAR=2025-2026`: the current year's demo cannot open an assessment before
    20 August; a demo of an ended year, on its own database, can (the README's walkthrough)."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "STORAGE_DIR", "STORAGE_URL")
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'last-year.sqlite3'}",
        STORAGE_DIR=str(tmp_path / "storage"),
        HOME=str(tmp_path),
    )
    command = [sys.executable, "-m", "bot.devtools.demo", "--port", str(port), "--no-browser"]
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [*command, "--year", "2025-2026"], cwd=tmp_path, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/simulator/api"
    try:
        deadline = time.monotonic() + 180
        output = ""
        while "演示已启动" not in output:
            assert demo.poll() is None, output
            assert time.monotonic() < deadline, output
            time.sleep(0.2)
            output = (tmp_path / "demo.log").read_text(encoding="utf-8", errors="replace")
        assert "2025-2026 学年演示数据" in output
        assert requests.get(api + "/people", timeout=10).status_code == 200  # the address book
        said = {"userid": "shuyuan_admin", "content": "开启考核 2025-2026"}
        assert requests.post(api + "/text", json=said, timeout=30).status_code == 200
        titles: list[str] = []
        while not any("开启 2025-2026 学年导师考核" in title for title in titles):
            assert time.monotonic() < deadline, titles
            time.sleep(0.5)
            entries = requests.get(
                api + "/conversation", params={"userid": "shuyuan_admin"}, timeout=10
            ).json()["entries"]
            titles = [
                e["payload"]["main_title"]["title"]
                for e in entries
                if e["direction"] == "out" and e["msgtype"] == "template_card"
            ]
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait(timeout=30)
            log.close()
