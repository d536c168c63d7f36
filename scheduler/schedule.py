"""The schedule as data: ``schedule.toml`` beside this module, merged with SCHEDULE_FILE."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.calendar import Rules

DEFAULT_FILE = Path(__file__).with_name("schedule.toml")
_JOB_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_JOB_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class ScheduleError(ValueError):
    """The schedule file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    job: str
    cron: str | None = None
    interval_seconds: int | None = None
    description: str = ""
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def function(self) -> Callable[..., int]:
        module_name, _, name = self.job.partition(":")
        return getattr(importlib.import_module(module_name), name)

    def trigger(self, zone: ZoneInfo) -> BaseTrigger:
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=zone)
        return IntervalTrigger(seconds=self.interval_seconds or 60, timezone=zone)

    def next_run(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        return self.trigger(zone).get_next_fire_time(None, now.astimezone(zone))


@dataclass(frozen=True)
class Schedule:
    rules: Rules
    entries: dict[str, Entry]


def load_schedule(override: str | Path | None = None) -> Schedule:
    """The default schedule, with ``override`` (a TOML path) merged over it."""
    data = _read(DEFAULT_FILE)
    if override:
        extra = _read(Path(override))
        data.setdefault("calendar", {}).update(extra.get("calendar", {}))
        jobs = data.setdefault("jobs", {})
        for job_id, table in extra.get("jobs", {}).items():
            jobs[job_id] = {**jobs.get(job_id, {}), **table}
    where = str(override or DEFAULT_FILE)
    return Schedule(_rules(data.get("calendar", {}), where), _entries(data.get("jobs", {}), where))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{path}: {exc}") from None


def _rules(table: dict[str, Any], where: str) -> Rules:
    try:
        return Rules(
            zone=ZoneInfo(table.get("timezone", "Asia/Shanghai")),
            quiet_start=time.fromisoformat(table.get("quiet_start", "22:00")),
            quiet_end=time.fromisoformat(table.get("quiet_end", "08:00")),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise ScheduleError(f"{where}: [calendar] {exc}") from None


def _entries(tables: dict[str, Any], where: str) -> dict[str, Entry]:
    entries = {}
    for job_id, table in tables.items():
        name = f"{where}: [jobs.{job_id}]"
        if not _JOB_ID.fullmatch(job_id):
            raise ScheduleError(f"{name}: the id must be letters, digits and underscores")
        if not isinstance(table, dict) or not _JOB_PATH.fullmatch(str(table.get("job", ""))):
            raise ScheduleError(f'{name}: job must be "module:function"')
        unknown = set(table) - {"job", "cron", "interval_seconds", "description", "enabled"}
        unknown -= {"params"}
        if unknown:
            raise ScheduleError(f"{name}: unknown keys {sorted(unknown)}")
        if ("cron" in table) == ("interval_seconds" in table):
            raise ScheduleError(f"{name}: give either cron or interval_seconds")
        entry = Entry(
            id=job_id,
            job=table["job"],
            cron=table.get("cron"),
            interval_seconds=table.get("interval_seconds"),
            description=str(table.get("description", "")),
            enabled=bool(table.get("enabled", True)),
            params=dict(table.get("params", {})),
        )
        try:
            entry.trigger(ZoneInfo("UTC"))
        except (ValueError, TypeError) as exc:
            raise ScheduleError(f"{name}: {exc}") from None
        entries[job_id] = entry
    return entries
