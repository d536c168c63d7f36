"""`make serve`'s Procfile: web, sender, scheduler and media worker all start and stay up."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_procfile_processes_start_and_stop_cleanly(settings_overrides, tmp_path):
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update(
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        HOME=str(tmp_path),
        BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "honcho.log"
    with log.open("w") as output:
        honcho = subprocess.Popen(
            [str(bin_dir / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            healthy = False
            while time.monotonic() < deadline and not healthy:
                try:
                    healthy = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
                except requests.RequestException:
                    time.sleep(0.3)
            assert healthy, log.read_text()
            time.sleep(3)  # give every process time to fail if it is going to
            assert honcho.poll() is None, log.read_text()
            text = log.read_text()
            for name in ("web.1", "sender.1", "scheduler.1", "media.1"):
                assert f"{name} started" in text, text
            assert "exited" not in text, text
            assert "调度进程已启动" in text, text
        finally:
            os.killpg(honcho.pid, signal.SIGTERM)
            honcho.wait(timeout=30)
