"""`make demo`: the bot, the local WeCom simulator and a demo university, with no WeCom account.

Generates simulator credentials once (``instance/demo.env``), migrates the SQLite database,
seeds the demo university for the current academic year, or ``--year`` (an ended year, whose
assessment the office may open; give it its own ``DATABASE_URL``), on a restart only what is
missing (a year already published keeps its roster), then serves bot + simulator on one port.
The reminder scheduler runs as its own process (``python -m scheduler``, as in production),
so the demo starts a small in-process Redis server on a local port (fakeredis over TCP) that
both processes share, unless ``REDIS_URL`` names a real one; its address is written to
``instance/demo.env`` and printed, so that ``python -m scheduler pause …`` with those settings
reaches the running scheduler. The outbox sender and the photo fetcher run as threads beside
the web server: they call the simulator's API, which lives in this process.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import webbrowser
from datetime import UTC, datetime
from pathlib import Path

INSTANCE = Path("instance")


def demo_credentials(path: Path, port: int) -> dict[str, str]:
    """Read or create the demo's WeCom credentials; they only ever talk to the simulator."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name and not name.startswith("#"):
                values[name.strip()] = value.strip()
    generated = {
        "WECOM_CORP_ID": "ww" + secrets.token_hex(8),
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": secrets.token_urlsafe(32),
        "WECOM_TOKEN": secrets.token_urlsafe(16),
        "WECOM_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "CARE_NOTES_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, value in generated.items():
        values.setdefault(name, value)
    base = f"http://127.0.0.1:{port}"
    values["WECOM_API_BASE"] = base + "/simulator"
    values["WECOM_OAUTH_BASE"] = base + "/simulator"
    values["PUBLIC_BASE_URL"] = base
    values["SIMULATOR"] = "1"
    values["LOG_FORMAT"] = "console"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# 演示用的模拟企业微信凭据（只用于本机模拟器）\n"
    body += "".join(f"{name}={value}\n" for name, value in sorted(values.items()))
    path.write_text(body, encoding="utf-8")
    return values


def shared_redis(previous: str | None) -> tuple[str, object | None]:
    """``REDIS_URL`` if it names a real Redis (not the address a previous demo wrote); else a
    fakeredis server on a local port (the previous demo's when it is free, so commands set up
    with ``instance/demo.env`` keep working), returned to shut it down, so the web and
    scheduler processes share one Redis."""
    configured = os.environ.get("REDIS_URL", "")
    if configured.startswith(("redis://", "rediss://")) and configured != previous:
        return configured, None
    from fakeredis import TcpFakeServer

    port = _free_port(_demo_port(previous))
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    server.daemon_threads = True  # an open connection never keeps the demo from exiting
    threading.Thread(target=server.serve_forever, name="demo-redis", daemon=True).start()
    return f"redis://127.0.0.1:{port}/0", server


def _demo_port(url: str | None) -> int:
    """The port of a demo Redis address ``redis://127.0.0.1:PORT/0``; 0 for any other."""
    prefix = "redis://127.0.0.1:"
    if not url or not url.startswith(prefix):
        return 0
    port = url.removeprefix(prefix).partition("/")[0]
    return int(port) if port.isdigit() and 1024 <= int(port) <= 65535 else 0


def _free_port(preferred: int) -> int:
    """``preferred`` when it can be bound now, else any free local port."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free local port for the demo's Redis")


def remember_redis(path: Path, url: str) -> None:
    """Write the demo's Redis address into ``instance/demo.env`` (REDIS_URL=…), so that
    ``python -m scheduler pause …`` run with those settings reaches the running scheduler."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith("REDIS_URL=")
    ]
    lines.append(f"REDIS_URL={url}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_scheduler(config: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m scheduler`` with the demo's settings (it prints that it started)."""
    return subprocess.Popen([sys.executable, "-m", "scheduler"], env={**os.environ, **config})


def main() -> None:
    parser = argparse.ArgumentParser(description="全生异科导师机器人演示")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--year",
        default=None,
        help="演示学年（默认：当前学年）；如 2025-2026：已结束的学年，可以走一遍考核",
    )
    args = parser.parse_args()

    env_file = INSTANCE / "demo.env"
    config = demo_credentials(env_file, args.port)
    config["REDIS_URL"], redis_server = shared_redis(config.get("REDIS_URL"))
    remember_redis(env_file, config["REDIS_URL"])
    from werkzeug.serving import make_server

    from bot import create_app
    from bot.core import migrate
    from bot.core.db import get_database
    from bot.core.storage import FileStore
    from bot.devtools.demo_data import seed_demo
    from bot.outbox.runner import run_sender_thread
    from bot.records.cli import run_fetcher
    from bot.roster.calendar import year_code_for
    from bot.roster.importer import RosterInvalid
    from bot.wecom.app_client import get_client
    from handlers.menu import menu_definition

    app = create_app(config)
    database = get_database(app)
    migrate.upgrade(database.engine)
    now = datetime.now(UTC)
    with app.app_context():
        year = args.year or year_code_for(now.astimezone(app.extensions["settings"].zone).date())
        try:
            summary = seed_demo(database, now=now, year=year)
        except RosterInvalid as invalid:  # its message lists every row; no traceback
            if redis_server is not None:
                redis_server.shutdown()
            raise SystemExit(f"演示数据没有导入：{invalid}") from None
    print(f"{year} 学年演示数据：{summary.records} 条记录，{summary.ratings} 条评价")
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    get_client(app).create_menu(menu_definition())
    run_sender_thread(app)
    scheduler = start_scheduler(config)
    storage = FileStore.from_settings(app.extensions["settings"], app.instance_path)
    threading.Thread(
        target=run_fetcher,
        args=(database, get_client(app), storage),
        kwargs={"interval": 2.0},
        name="evidence-fetcher",
        daemon=True,
    ).start()
    url = f"http://127.0.0.1:{args.port}/simulator/"
    print(
        f"调度进程的 Redis：{config['REDIS_URL']}（已写入 {env_file}）。命令行操作调度，例如：\n"
        f"  env $(grep -v '^#' {env_file} | xargs) .venv/bin/python -m scheduler list"
    )
    print(f"演示已启动：打开 {url} 选择一个人即可开始（Ctrl+C 退出）")
    print("例如：导师 wanglaoshi 发送“帮助”或“交流 张三 线上 聊选课”")
    if not args.no_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    # Ctrl+C and SIGTERM stop the demo even when it was started with SIGINT ignored (a shell's
    # background job, nohup), which Python would otherwise inherit
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while scheduler.poll() is None:
            threading.Event().wait(1.0)
        print(f"调度进程已退出（退出码 {scheduler.returncode}），演示结束", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            stop_scheduler(scheduler)
        finally:
            server.shutdown()
            if redis_server is not None:
                redis_server.shutdown()


def stop_scheduler(scheduler: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM (a running job finishes), then SIGKILL if it has not exited within ``grace``
    seconds: stopping the demo never hangs on a slow job."""
    if scheduler.poll() is not None:
        return
    scheduler.terminate()
    try:
        scheduler.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"调度进程 {grace:.0f} 秒内没有退出，已强制结束", file=sys.stderr)
        scheduler.kill()
        scheduler.wait()


if __name__ == "__main__":
    main()
