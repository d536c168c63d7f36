"""Structured logs: JSON lines in production, readable lines in the demo; every line of a
request carries its request id. Message contents, names with ratings and care notes are never
logged (callers log only types, ids and timings)."""

from __future__ import annotations

import logging
import sys
import uuid

import structlog
from flask import Flask, Response, g, request

_configured: tuple[str, str] | None = None


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """A logger writing to whatever ``sys.stderr`` is now (redirected by a test or a runner)."""
    return structlog.PrintLogger(sys.stderr)


def configure(log_format: str, level: str = "INFO") -> None:
    """Configure structlog once per process (``json`` or ``console``)."""
    global _configured
    if _configured == (log_format, level):
        return
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _configured = (log_format, level)


def init_app(app: Flask) -> None:
    settings = app.extensions["settings"]
    configure(settings.LOG_FORMAT, settings.LOG_LEVEL)

    @app.before_request
    def bind_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response
