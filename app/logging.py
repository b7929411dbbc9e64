"""Structured logs: one JSON object a line on stderr, with the request it belongs to.

LOG_FORMAT=json (the production default) sends the application's records, Flask's and
SQLAlchemy's through one JSON formatter, each with the request's method, path, client address
and the reverse proxy's X-Request-ID when there is one. LOG_FORMAT=text keeps Python's default.
"""

from __future__ import annotations

import logging
import sys

from flask import Flask, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_MARK = "_rso_json_handler"


class RequestFields(logging.Filter):
    """Adds the current request's fields to every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.method = request.method
            record.path = request.path
            record.remote = request.remote_addr
            request_id = request.headers.get("X-Request-ID")
            if request_id:
                record.request_id = request_id[:200]
        return True


def json_handler(stream=None) -> logging.Handler:  # noqa: ANN001
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(RequestFields())
    setattr(handler, _MARK, True)
    return handler


def init_app(app: Flask) -> None:
    """With LOG_FORMAT=json, the root logger writes JSON lines (once per process)."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    root = logging.getLogger()
    if not any(getattr(handler, _MARK, False) for handler in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Flask's own handler would print every record a second time, as text.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    if app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        app.logger.warning(
            "rate limits are counted in each process's memory: with several workers or "
            "servers set RATELIMIT_STORAGE_URI=redis://..."
        )
