"""Prometheus metrics at /metrics, answered only to the addresses in METRICS_ALLOW.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by
the workers (prometheus_client's multiprocess mode); the outbox figures are read from the
database at scrape time, so every worker reports the same ones.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.models import OutboxMessage, OutboxStatus

CALLBACKS = Counter(
    "mentorbot_callbacks_total", "WeCom callbacks by message type and outcome", ["type", "outcome"]
)
CALLBACK_SECONDS = Histogram(
    "mentorbot_callback_seconds",
    "Time to verify, de-duplicate and act on a callback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DUPLICATES = Counter("mentorbot_callback_duplicates_total", "Callback retries dropped")
SENDS = Counter("mentorbot_sends_total", "WeCom send calls by errcode", ["errcode"])
JOB_RUNS = Counter("mentorbot_job_runs_total", "Scheduled job runs by outcome", ["job", "outcome"])

blueprint = Blueprint("metrics", __name__)


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
        for collector in (CALLBACKS, CALLBACK_SECONDS, DUPLICATES, SENDS, JOB_RUNS):
            registry.register(collector)
    registry.register(OutboxCollector(app))
    app.extensions["metrics_registry"] = registry
    app.register_blueprint(blueprint)
