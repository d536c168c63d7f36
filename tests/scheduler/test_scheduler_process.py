"""``python -m scheduler``: two processes at once run each job once; the second takes over
when the first stops; the operator commands."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.models import OutboxMessage, Person
from scheduler.__main__ import main
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(settings_overrides, **extra) -> dict[str, str]:
    env = {key: str(value) for key, value in settings_overrides.items()}
    env.update({key: str(value) for key, value in extra.items()})
    env.update(PATH=os.environ["PATH"], PYTHONPATH=str(ROOT))
    return env


def _lines(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail("timed out")


def test_two_scheduler_processes_run_each_tick_once(
    app, database, settings_overrides, shared_redis_url, tmp_path
):
    log_path = tmp_path / "ticks.log"
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(
        "[jobs.tick]\n"
        'job = "tests.scheduler.tick_job:tick"\n'
        "interval_seconds = 1\n"
        f'params = {{ log_path = "{log_path}" }}\n',
        encoding="utf-8",
    )
    env = _env(
        settings_overrides,
        REDIS_URL=shared_redis_url,
        SCHEDULE_FILE=schedule,
        SCHEDULER_LOCK_SECONDS=2,
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _wait(lambda: len(_lines(log_path)) >= 3)
        first_pids = {pid for pid, _ in _lines(log_path)}
        assert len(first_pids) == 1  # one runs, the other waits
        holder = next(p for p in processes if str(p.pid) in first_pids)
        holder.terminate()
        holder.wait(timeout=15)
        other = next(p for p in processes if p is not holder)
        _wait(lambda: any(pid == str(other.pid) for pid, _ in _lines(log_path)))
        count = len(_lines(log_path))
        _wait(lambda: len(_lines(log_path)) >= count + 2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
    lines = _lines(log_path)
    assert {pid for pid, _ in lines} == {str(p.pid) for p in processes}
    assert max(Counter(stamp for _, stamp in lines).values()) == 1  # no tick doubled
    with database.session() as session:
        rows = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    assert rows == len(lines)


def test_operator_commands(
    app, database, settings_overrides, shared_redis_url, monkeypatch, capsys, demo
):
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("REDIS_URL", shared_redis_url)  # the running scheduler's Redis
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "weekly_contact_check" in listed and "启用" in listed and "下次" in listed
    assert main(["pause", "weekly_contact_check"]) == 0
    listed = main_output(capsys, ["list"]).splitlines()
    assert listed[0].split()[:2] == ["weekly_contact_check", "暂停"]
    assert all("启用" in line for line in listed[1:])
    assert main(["resume"]) == 0
    capsys.readouterr()
    assert main(["run", "weekly_contact_check", "--dry-run", "--at", "2025-11-21T16:07"]) == 0
    out = capsys.readouterr().out
    assert "每周交流提醒" in out and "将新增" in out
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert main(["run", "weekly_contact_check", "--at", "2025-11-21T16:07+08:00"]) == 0
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) > 0
    assert main(["run", "no_such_job"]) == 2


def main_output(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


def test_the_lock_is_held_by_one_and_renewed_only_by_its_holder(app):
    from scheduler.runner import SingleLock

    store = app.extensions["redis"]
    first, second = SingleLock(store, ttl_seconds=5), SingleLock(store, ttl_seconds=5)
    assert first.acquire() and not second.acquire()
    assert first.renew() and not second.renew() and not second.release()
    store.client.delete(first.key)  # the lease ran out (a paused or cut-off process)
    assert second.acquire()
    assert not first.renew()  # the old holder learns it lost the lock and stops
    assert second.release() and first.acquire()


def test_pause_refuses_an_in_process_redis_nobody_else_sees(
    settings_overrides, monkeypatch, capsys, demo
):
    """With REDIS_URL unset (memory://) a pause reached no running scheduler, yet said 已暂停."""
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("REDIS_URL", "memory://nobody-else")
    assert main(["pause", "weekly_contact_check"]) == 2
    out, err = capsys.readouterr()
    assert "已暂停" not in out
    assert "正在运行的调度进程不会看到" in err and "instance/demo.env" in err


def test_a_command_that_cannot_reach_redis_says_so(settings_overrides, monkeypatch, capsys, demo):
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("REDIS_URL", f"redis://:secret@127.0.0.1:{free_port()}/0")
    for argv in (["pause", "weekly_contact_check"], ["resume"], ["list"]):
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert "已暂停" not in out and "已恢复" not in out
        assert "无法连接调度进程使用的 Redis" in err and "命令没有执行" in err
        assert "127.0.0.1" in err and "secret" not in err


def test_dry_run_prints_each_person_and_their_message(
    settings_overrides, monkeypatch, capsys, demo
):
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
    assert main(["run", "weekly_contact_check", "--dry-run", "--at", "2025-11-21T16:07"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = re.fullmatch(r"(\w+)（(\w+)）  2025-11-2\d \d\d:\d\d 发送", lines[0])
    assert head, lines[:5]
    with demo.session() as session:
        name = session.scalar(sa.select(Person.name).where(Person.userid == head.group(1)))
    assert head.group(2) == name
    body = [line.strip() for line in itertools.takewhile(lambda x: x.startswith("    "), lines[1:])]
    assert "每周交流提醒" in body[0]
    assert any("个别交流" in line and "次" in line for line in body[1:])  # the text, not the title
    assert any(line.startswith("按钮：") for line in body[1:])
    heads = [line for line in lines if re.fullmatch(r"\w+（\w+）  .* 发送", line)]
    assert len(heads) == int(re.search(r"将新增 (\d+) 条", lines[-1]).group(1)) > 1
    assert "没有写入" in lines[-1]


def test_a_run_in_quiet_hours_says_until_when_it_holds_messages(
    settings_overrides, monkeypatch, capsys, demo
):
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
    assert main(["run", "weekly_contact_check", "--at", "2025-11-21T23:40+08:00"]) == 0
    out = capsys.readouterr().out
    assert "新增" in out
    assert "现在是免打扰时段（22:00–08:00），消息暂不发送，将于 2025-11-24 08:0" in out
    assert main(["run", "weekly_contact_check", "--at", "2025-11-21T16:07+08:00"]) == 0
    assert "暂不发送" not in capsys.readouterr().out
