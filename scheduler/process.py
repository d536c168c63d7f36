"""The scheduler loop: wait for the single-process lock, run the jobs, keep the lease.

APScheduler 3 runs the jobs with explicit ids (``replace_existing``), coalescing missed runs
into one, with a generous misfire grace (a run that starts late because the process was busy
still happens, within six hours). Each run reads the operator's pause switches.

The lock is in Redis, so while Redis is unreachable the holder cannot know whether its lease
still holds: it stands down (its APScheduler stopped, a running job left to finish), tries Redis
again with backoff, and when it holds the lock again starts afresh. A job that fell due while
it stood down then runs once, unless the job's last run (noted in Redis) shows that another
process ran it meanwhile. The process never exits because Redis blinked.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bot.core.redis_store import Backoff, RedisUnavailable
from scheduler.runner import Controls, SingleLock, run_job
from scheduler.schedule import Schedule

log = structlog.get_logger("scheduler")

MISFIRE_GRACE_SECONDS = 6 * 3600


def serve(
    schedule: Schedule,
    database: Any,
    store: Any,
    controls: Controls,
    lock_seconds: int,
    stop: threading.Event | None = None,
) -> int:
    """Wait for the lock, run the schedule until ``stop`` (SIGTERM/SIGINT by default)."""
    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    for entry in schedule.entries.values():
        if entry.enabled:
            entry.function()  # a wrong dotted path stops the process here, not at 16:07
    lease = _Lease(SingleLock(store, ttl_seconds=lock_seconds), schedule, database, controls)
    interval = max(0.5, lock_seconds / 3)
    waiting = Backoff(first=interval, cap=max(interval, min(30.0, float(lock_seconds))))
    try:
        while True:
            try:
                lease.keep(datetime.now(UTC))
                delay = interval
                waiting.reset()
            except RedisUnavailable:  # logged once per outage by the store
                lease.stand_down(datetime.now(UTC))
                delay = waiting.next()
            if stop.wait(delay):
                return 0
    finally:
        lease.close()


class _Lease:
    """The scheduler's hold on the lock: while held, an APScheduler runs the jobs."""

    def __init__(
        self, lock: SingleLock, schedule: Schedule, database: Any, controls: Controls
    ) -> None:
        self.lock = lock
        self.schedule = schedule
        self.database = database
        self.controls = controls
        self.scheduler: Any = None  # the running BackgroundScheduler while the lock is ours
        self.started = False
        self.waiting_said = False
        self.stood_down_at: datetime | None = None  # this process held the lock until then
        self.postponed: set[str] = set()  # fell due while Redis could not be read

    @property
    def held(self) -> bool:
        return self.scheduler is not None

    def keep(self, now: datetime) -> None:
        """Renew the lease, or try to take it; raises RedisUnavailable."""
        if self.held:
            if not self.lock.renew():
                log.error("scheduler_lock_lost")  # another process holds it now
                self.stand_down(now)
                self.stood_down_at = None  # the other process runs what falls due
            return
        if not self.lock.acquire():
            if not self.waiting_said:
                print("另一个调度进程正在运行，本进程等待接替…", flush=True)
                self.waiting_said = True
            return
        self.scheduler = self._start(now)
        if not self.started:
            print("调度进程已启动", flush=True)
            self.started = True
        else:
            log.warning("scheduler_resumed")

    def _start(self, now: datetime) -> Any:
        from apscheduler.schedulers.background import BackgroundScheduler

        zone = self.schedule.rules.zone
        scheduler = BackgroundScheduler(
            timezone=zone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        owed = self._owed(now)
        for entry in self.schedule.entries.values():
            if entry.enabled:
                scheduler.add_job(
                    self._execute,
                    entry.trigger(zone),
                    args=[entry.id],
                    id=entry.id,
                    name=entry.description or entry.id,
                    replace_existing=True,
                    **({"next_run_time": now} if entry.id in owed else {}),
                )
        self.stood_down_at = None
        self.postponed.clear()
        scheduler.start()
        return scheduler

    def _owed(self, now: datetime) -> set[str]:
        """Jobs that fell due while this process stood down and nobody ran since."""
        if self.stood_down_at is None:
            return set()
        since = max(self.stood_down_at, now - timedelta(seconds=MISFIRE_GRACE_SECONDS))
        zone = self.schedule.rules.zone
        last_runs = self.controls.last_runs()
        owed = set()
        for entry in self.schedule.entries.values():
            due = entry.trigger(zone).get_next_fire_time(None, since.astimezone(zone))
            if not entry.enabled or due is None:
                continue
            if due <= now or entry.id in self.postponed:
                ran = last_runs.get(entry.id, "").split(" ")[0]
                if not ran or datetime.fromisoformat(ran) < due:
                    owed.add(entry.id)
        return owed

    def _execute(self, job_id: str) -> None:
        try:
            paused = self.controls.is_paused(job_id)
        except RedisUnavailable:  # cannot read the switches nor renew the lease: later
            self.postponed.add(job_id)
            log.info("job_postponed", job=job_id)
            return
        if paused:
            log.info("job_paused", job=job_id)
            self.controls.count_run(job_id, "paused")
            return
        now = datetime.now(UTC)
        entry = self.schedule.entries[job_id]
        try:
            result = run_job(entry, self.database, now, self.schedule.rules, self.controls)
        except Exception:
            log.exception("job_failed", job=job_id)
            return
        log.info("job_ran", job=job_id, added=result.added)

    def stand_down(self, now: datetime) -> None:
        if not self.held:
            return
        self.scheduler.shutdown(wait=False)  # a running job finishes on its own
        self.scheduler = None
        self.stood_down_at = now
        log.warning("scheduler_standing_down")

    def close(self) -> None:
        if not self.held:
            return
        self.scheduler.shutdown(wait=True)
        self.scheduler = None
        with contextlib.suppress(RedisUnavailable):  # else the lease runs out by itself
            self.lock.release()
