"""Stand-ins for a failing file store: a local directory no file can be made in, and object
stores on 127.0.0.1 that refuse connections, accept them and never answer, or never complete
the TCP handshake. Nothing here reaches beyond the machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.live import free_port


@contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """No file can be made in ``directory`` while inside: mode 0555, or for root (whom modes do
    not stop) the immutable attribute; skips the test where neither is possible."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    made = chattr and subprocess.run([chattr, "+i", str(directory)], capture_output=True)
    if not made or made.returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a directory unwritable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(directory)], check=True)


@contextmanager
def refusing_endpoint() -> Iterator[str]:
    """Nothing listens on the port: every connection is refused at once."""
    yield f"http://127.0.0.1:{free_port()}"


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """Connections complete (the kernel's backlog) but no request is ever read or answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def unconnectable_endpoint() -> Iterator[str]:
    """The listener's backlog is full, so the kernel drops new handshakes: connecting hangs."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(16):
            filler = stack.enter_context(socket.socket())
            filler.settimeout(0.2)
            try:
                filler.connect(address)
            except TimeoutError:
                break
        else:
            pytest.skip("this kernel completes handshakes past a full backlog")
        yield f"http://127.0.0.1:{address[1]}"


ENDPOINTS = {
    "refusing": refusing_endpoint,
    "silent": silent_endpoint,
    "unconnectable": unconnectable_endpoint,
}
