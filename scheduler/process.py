"""The scheduler loop: wait for the single-process lock, run the jobs, keep the lease.

APScheduler 3 runs the jobs with explicit ids (``replace_existing``), coalescing missed runs
into one, with a generous misfire grace (a job that missed its time while the process was down
still runs when it is back, within six hours). Each run reads the operator's pause switches.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Any

import structlog

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
    from apscheduler.schedulers.background import BackgroundScheduler

    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = SingleLock(store, ttl_seconds=lock_seconds)
    waiting_said = False
    while not lock.acquire():
        if not waiting_said:
            print("另一个调度进程正在运行，本进程等待接替…", flush=True)
            waiting_said = True
        if stop.wait(max(1.0, lock_seconds / 3)):
            return 0
    print("调度进程已启动", flush=True)
    scheduler = BackgroundScheduler(
        timezone=schedule.rules.zone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )

    def execute(job_id: str) -> None:
        if controls.is_paused(job_id):
            log.info("job_paused", job=job_id)
            controls.count_run(job_id, "paused")
            return
        now = datetime.now(UTC)
        try:
            result = run_job(schedule.entries[job_id], database, now, schedule.rules, controls)
        except Exception:
            log.exception("job_failed", job=job_id)
            return
        log.info("job_ran", job=job_id, added=result.added)

    for entry in schedule.entries.values():
        if entry.enabled:
            entry.function()  # a wrong dotted path stops the process here, not at 16:07
            scheduler.add_job(
                execute,
                entry.trigger(schedule.rules.zone),
                args=[entry.id],
                id=entry.id,
                name=entry.description or entry.id,
                replace_existing=True,
            )
    scheduler.start()
    try:
        while not stop.wait(max(0.5, lock_seconds / 3)):
            if not lock.renew():
                log.error("scheduler_lock_lost")
                return 3
        return 0
    finally:
        scheduler.shutdown(wait=True)
        lock.release()
