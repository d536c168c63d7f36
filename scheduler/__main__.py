"""The one scheduler process and its operator commands.

    python -m scheduler                  run the schedule (a second copy waits for the lock)
    python -m scheduler list             jobs, next run, paused, last run
    python -m scheduler run JOB          run one job now
    python -m scheduler run JOB --dry-run [--at 2026-03-06T16:07+08:00]
                                         print who would get what; nothing is written
    python -m scheduler pause [JOB]      pause one job (or all); the running process obeys
    python -m scheduler resume [JOB]

Settings come from the environment like the web app's (DATABASE_URL, REDIS_URL, …);
SCHEDULE_FILE names a TOML file merged over ``scheduler/schedule.toml``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import structlog

from bot.core.redis_store import RedisUnavailable
from scheduler.process import serve
from scheduler.runner import ALL, Controls, run_entry, run_job
from scheduler.schedule import Schedule, ScheduleError, load_schedule

log = structlog.get_logger("scheduler")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler", description="提醒调度进程")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="运行调度（默认）")
    commands.add_parser("list", help="列出任务及下次运行时间")
    run = commands.add_parser("run", help="立即运行一个任务")
    run.add_argument("job")
    run.add_argument("--dry-run", action="store_true", help="只显示谁会收到什么，不写入")
    run.add_argument("--at", help="按此时刻运行（ISO 时间，带时区），默认现在")
    for name in ("pause", "resume"):
        command = commands.add_parser(name, help="暂停任务" if name == "pause" else "恢复任务")
        command.add_argument("job", nargs="?", default=ALL)
    args = parser.parse_args(argv)

    from bot import create_app

    app = create_app()
    with app.app_context():  # jobs of other features may read the app's settings
        try:
            return _command(args, app)
        except RedisUnavailable:  # an operator command; the scheduler itself waits for Redis
            print("无法连接 Redis（REDIS_URL），请稍后再试。", file=sys.stderr)
            return 1


def _command(args: argparse.Namespace, app: Any) -> int:
    settings = app.extensions["settings"]
    try:
        schedule = load_schedule(settings.SCHEDULE_FILE)
    except ScheduleError as exc:
        print(f"调度配置错误：{exc}", file=sys.stderr)
        return 2
    database, store = app.extensions["database"], app.extensions["redis"]
    controls = Controls(store)
    if args.command in ("pause", "resume"):
        if args.job != ALL and args.job not in schedule.entries:
            print(f"没有任务 {args.job}", file=sys.stderr)
            return 2
        getattr(controls, args.command)(args.job)
        what = "全部任务" if args.job == ALL else args.job
        print(f"{what} 已{'暂停' if args.command == 'pause' else '恢复'}")
        return 0
    if args.command == "list":
        print(list_jobs(schedule, controls, datetime.now(UTC)))
        return 0
    if args.command == "run":
        entry = schedule.entries.get(args.job)
        if entry is None:
            print(f"没有任务 {args.job}", file=sys.stderr)
            return 2
        now = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=schedule.rules.zone)
        if args.dry_run:
            result = run_entry(entry, database, now, schedule.rules, dry_run=True)
        else:
            result = run_job(entry, database, now, schedule.rules, controls)
        for item in result.planned:
            at = item.available_at.astimezone(schedule.rules.zone)
            print(f"{item.userid}\t{at:%Y-%m-%d %H:%M}\t{item.preview}")
        verb = "将新增" if args.dry_run else "新增"
        print(f"{entry.id}: {verb} {result.added} 条消息")
        return 0
    return serve(schedule, database, store, controls, settings.SCHEDULER_LOCK_SECONDS)


def list_jobs(schedule: Schedule, controls: Controls, now: datetime) -> str:
    paused, last = controls.paused(), controls.last_runs()
    lines = []
    for entry in schedule.entries.values():
        state = "停用" if not entry.enabled else "暂停" if {ALL, entry.id} & paused else "启用"
        upcoming = entry.next_run(now, schedule.rules.zone)
        when = f"{upcoming:%Y-%m-%d %H:%M %a}" if upcoming and entry.enabled else "-"
        ran = last.get(entry.id, "-")
        lines.append(f"{entry.id:<24} {state}  下次 {when}  上次 {ran}  {entry.description}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
