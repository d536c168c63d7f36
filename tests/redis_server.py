"""A Redis server of the test's own, to stop and start again (never the shared one); the
``private_redis`` fixture (tests/conftest.py) starts one per test.

Started from Debian's ``redis-server`` on a free local port, keeping nothing on disk, so a
restart comes back empty, as the shipped Redis does. Without the program the calling test is
skipped, except under CI, where it must run.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.live import free_port


class PrivateRedis:
    def __init__(self, program: str, workdir: Path) -> None:
        self.program = program
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.program, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash would: nothing said to the clients
            self.process.wait(timeout=10)
        self.process = None
