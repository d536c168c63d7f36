"""The one scheduler process and its operator commands.

    python -m scheduler                  run the schedule (a second copy waits for the lock)
    python -m scheduler list             jobs, next run, paused, last run
    python -m scheduler run JOB          run one job now (says so when its messages wait for
                                         the end of quiet hours or a working day)
    python -m scheduler run JOB --dry-run [--at 2026-03-06T16:07+08:00]
                                         print each person and the message they would get;
                                         nothing is written
    python -m scheduler pause [JOB]      pause one job (or all); the running process obeys
    python -m scheduler resume [JOB]

Settings come from the environment like the web app's (DATABASE_URL, REDIS_URL, …);
SCHEDULE_FILE names a TOML file merged over ``scheduler/schedule.toml``. pause and resume
refuse an in-process Redis (memory://): the running scheduler could not see the switch.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
import structlog

from bot.calendar import Rules, in_quiet_hours, is_working_day
from bot.core.models import OutboxMessage, Person
from bot.core.redis_store import RedisUnavailable
from scheduler.process import serve
from scheduler.runner import ALL, Controls, Planned, run_entry, run_job
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
            where = redis_address(app.extensions["settings"].REDIS_URL)
            print(
                f"无法连接调度进程使用的 Redis（{where}），命令没有执行。请确认 Redis 正在运行"
                "（演示：make demo 正在运行，REDIS_URL 与 instance/demo.env 中的相同）。",
                file=sys.stderr,
            )
            return 1


def redis_address(url: str) -> str:
    """``redis://127.0.0.1:6379/0`` without any password, to show an operator."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{host}{port}", parts.path, "", ""))


IN_PROCESS = (
    "REDIS_URL 未指向调度进程使用的 Redis（现在是进程内的 {url}），{what}只在这条命令里生效，"
    "正在运行的调度进程不会看到。请设置与调度进程相同的 REDIS_URL"
    "（演示：见 instance/demo.env 中的 REDIS_URL）。"
)


def _command(args: argparse.Namespace, app: Any) -> int:
    settings = app.extensions["settings"]
    try:
        schedule = load_schedule(settings.SCHEDULE_FILE)
    except ScheduleError as exc:
        print(f"调度配置错误：{exc}", file=sys.stderr)
        return 2
    database, store = app.extensions["database"], app.extensions["redis"]
    controls = Controls(store)
    in_process = settings.REDIS_URL.startswith("memory://")
    if args.command in ("pause", "resume"):
        if args.job != ALL and args.job not in schedule.entries:
            print(f"没有任务 {args.job}", file=sys.stderr)
            return 2
        if in_process:  # a switch nobody else can see: say so instead of "已暂停"
            what = "暂停" if args.command == "pause" else "恢复"
            print(IN_PROCESS.format(url=settings.REDIS_URL, what=what), file=sys.stderr)
            return 2
        getattr(controls, args.command)(args.job)
        what = "全部任务" if args.job == ALL else args.job
        print(f"{what} 已{'暂停' if args.command == 'pause' else '恢复'}")
        return 0
    if args.command == "list":
        if in_process:
            print(IN_PROCESS.format(url=settings.REDIS_URL, what="暂停状态"), file=sys.stderr)
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
            print(describe_planned(database, result.planned, schedule.rules.zone))
            print(f"{entry.id}: 将新增 {result.added} 条消息（试运行，没有写入）")
            return 0
        result = run_job(entry, database, now, schedule.rules, controls)
        print(f"{entry.id}: 新增 {result.added} 条消息")
        held = holding(database, now, schedule.rules)
        if held:
            print(held)
        return 0
    return serve(schedule, database, store, controls, settings.SCHEDULER_LOCK_SECONDS)


def describe_planned(database: Any, planned: list[Planned], zone: Any) -> str:
    """Each person a dry run would reach (userid, name, when) and the message, indented."""
    userids = sorted({item.userid for item in planned})
    with database.session() as session:
        rows = session.execute(
            sa.select(Person.userid, Person.name).where(Person.userid.in_(userids))
        )
        names = {row.userid: row.name for row in rows}
    blocks = []
    for item in planned:
        at = item.available_at.astimezone(zone)
        head = f"{item.userid}（{names.get(item.userid, '未知')}）  {at:%Y-%m-%d %H:%M} 发送"
        blocks.append("\n".join([head, *(f"    {line}" for line in item.lines)]))
    return "\n".join(blocks)


def holding(database: Any, now: datetime, rules: Rules) -> str | None:
    """For a run inside quiet hours or on a day off: that its messages wait, and until when."""
    with database.session() as session:
        first = session.scalar(
            sa.select(sa.func.min(OutboxMessage.available_at)).where(
                OutboxMessage.created_at == now
            )
        )
    if first is None or first <= now:
        return None
    local = rules.local(now)
    if in_quiet_hours(local.time(), rules.quiet_start, rules.quiet_end):
        why = f"现在是免打扰时段（{rules.quiet_start:%H:%M}–{rules.quiet_end:%H:%M}）"
    elif not is_working_day(local.date()):
        why = "今天不是工作日"
    else:
        why = "按发送规则"
    until = rules.local(first)
    return f"{why}，消息暂不发送，将于 {until:%Y-%m-%d %H:%M} 起发出。"


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
