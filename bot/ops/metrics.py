"""Prometheus metrics at /metrics, answered only to the addresses in METRICS_ALLOW.

Three kinds of figures, each kept where every process that produces it can reach it (see
docs/operations-metrics.md):

- callbacks (by type and outcome), their latency and the duplicates dropped happen in the web
  process: prometheus_client counters of that process. With several gunicorn workers, set
  PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the workers (multiprocess mode).
- sends by WeCom errcode (the outbox senders) and job runs by outcome (the scheduler) happen in
  other processes, possibly on other hosts: they are counted in Redis hashes (``HINCRBY``)
  and read at scrape time, so every web process reports the installation's totals.
- outbox depth and the age of the oldest pending message are read from the database at
  scrape time.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core.models import OutboxMessage, OutboxStatus
from bot.core.redis_store import RedisStore, RedisUnavailable

log = structlog.get_logger("bot.ops.metrics")

CALLBACKS = Counter(
    "mentorbot_callbacks_total", "WeCom callbacks by message type and outcome", ["type", "outcome"]
)
CALLBACK_SECONDS = Histogram(
    "mentorbot_callback_seconds",
    "Time to verify, de-duplicate and act on a callback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DUPLICATES = Counter("mentorbot_callback_duplicates_total", "Callback retries dropped")

SENDS_KEY = ("metrics", "sends")  # Redis hash: errcode → WeCom answers
JOB_RUNS_KEY = ("metrics", "job_runs")  # Redis hash: "job|outcome" → runs
UNREACHABLE_KEY = ("metrics", "unreachable")  # Redis hash: reason → recipients
NO_ANSWER = "none"  # errcode label of a send without an answer (timeout, refused, no file)

blueprint = Blueprint("metrics", __name__)


# --- counters shared by every process through Redis ---------------------------------------


def count_sends(store: RedisStore, answers: Mapping[str, int]) -> None:
    """Add WeCom's answers to send calls (errcode → how many; "0" = success) to the shared
    ``mentorbot_sends_total``. Never raises: a metric must not stop the sender."""
    answers = {errcode: count for errcode, count in answers.items() if count}
    if not answers:
        return
    try:
        with store.reachable("metrics") as client:
            pipe = client.pipeline(transaction=False)
            for errcode, count in answers.items():
                pipe.hincrby(store.key(*SENDS_KEY), errcode, count)
            pipe.execute()
    except RedisUnavailable:  # the outage is logged once by the store
        pass


def count_unreachable(store: RedisStore, reasons: Mapping[str, int]) -> None:
    """Add recipients WeCom could not reach (reason ``invaliduser`` or ``81013`` → how many)
    to the shared ``mentorbot_unreachable_recipients_total``. Never raises."""
    reasons = {reason: count for reason, count in reasons.items() if count}
    if not reasons:
        return
    try:
        with store.reachable("metrics") as client:
            pipe = client.pipeline(transaction=False)
            for reason, count in reasons.items():
                pipe.hincrby(store.key(*UNREACHABLE_KEY), reason, count)
            pipe.execute()
    except RedisUnavailable:
        pass


def count_job_run(store: RedisStore, job: str, outcome: str) -> None:
    """Add one run of scheduler job ``job`` (outcome ok, failed or paused) to the shared
    ``mentorbot_job_runs_total``. Never raises: a metric must not stop the scheduler."""
    try:
        with store.reachable("metrics") as client:
            client.hincrby(store.key(*JOB_RUNS_KEY), f"{job}|{outcome}", 1)
    except RedisUnavailable:
        pass


class SharedCounterCollector(Collector):
    """The counters other processes keep in Redis (sends, unreachable recipients, job runs),
    read at scrape time."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        sends = CounterMetricFamily(
            "mentorbot_sends",
            "WeCom answers to send calls by errcode (0 = sent, none = no answer)",
            labels=["errcode"],
        )
        runs = CounterMetricFamily(
            "mentorbot_job_runs", "Scheduler job runs by outcome", labels=["job", "outcome"]
        )
        unreachable = CounterMetricFamily(
            "mentorbot_unreachable_recipients",
            "Recipients WeCom could not reach (invaliduser, 81013): outside the app's visible"
            " range or unknown to WeCom",
            labels=["reason"],
        )
        up = GaugeMetricFamily(
            "mentorbot_redis_up", "1 when Redis answered this scrape, 0 while it is unreachable"
        )
        try:
            with self.store.reachable("metrics") as client:
                pipe = client.pipeline(transaction=False)
                pipe.hgetall(self.store.key(*SENDS_KEY))
                pipe.hgetall(self.store.key(*JOB_RUNS_KEY))
                pipe.hgetall(self.store.key(*UNREACHABLE_KEY))
                sent, ran, lost = pipe.execute()
        except RedisUnavailable:  # the shared counters are in Redis: not reported meanwhile
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for errcode, count in sorted(sent.items()):
            sends.add_metric([errcode.decode()], int(count))
        for field, count in sorted(ran.items()):
            job, _, outcome = field.decode().partition("|")
            runs.add_metric([job, outcome], int(count))
        for reason, count in sorted(lost.items()):
            unreachable.add_metric([reason.decode()], int(count))
        yield sends
        yield runs
        yield unreachable


class OutboxCollector(Collector):
    """Outbox depth by status and the age of the oldest unsent message, read at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        database = self.app.extensions["database"]
        depth = GaugeMetricFamily(
            "mentorbot_outbox_messages", "Outbox rows by status", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "mentorbot_outbox_oldest_pending_seconds", "Age of the oldest pending message"
        )
        with database.session() as session:
            counts = dict(
                session.execute(
                    sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
                ).all()
            )
            first = session.scalar(
                sa.select(sa.func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
                )
            )
        for status in OutboxStatus:
            depth.add_metric([status.value], counts.get(status, 0))
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - first).total_seconds() if first is not None else 0.0
        oldest.add_metric([], max(0.0, age))
        yield depth
        yield oldest


def allowed(
    address: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]


@blueprint.get("/metrics")
def metrics() -> Response:
    if not allowed(request.remote_addr, current_app.extensions["metrics_networks"]):
        abort(403)
    registry = current_app.extensions["metrics_registry"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    app.extensions["metrics_networks"] = parse_networks(settings.METRICS_ALLOW)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in (CALLBACKS, CALLBACK_SECONDS, DUPLICATES):
            registry.register(collector)
    registry.register(OutboxCollector(app))
    registry.register(SharedCounterCollector(app.extensions["redis"]))
    app.extensions["metrics_registry"] = registry
    app.register_blueprint(blueprint)
