"""``python -m scheduler``: two processes at once run each job once; the second takes over
when the first stops; the operator commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.models import OutboxMessage
from scheduler.__main__ import main

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


def test_operator_commands(app, database, settings_overrides, monkeypatch, capsys, demo):
    for key, value in settings_overrides.items():
        monkeypatch.setenv(key, str(value))
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
