"""Structured logs: one JSON object per line on stderr, each with the request id it belongs to."""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

# The app's loggers, and libraries whose lines belong with them.
LOGGERS = ("accord", "flask-limiter")
# Fields of a LogRecord that are not extra data passed with `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id, any `extra` fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
                      .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so captured and redirected stderr both work."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup(level: str = "INFO") -> None:
    """Send the app's loggers to stderr as JSON lines; safe to call once per app in one process."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, StderrHandler) for h in logger.handlers):
            handler = StderrHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
        # Our handler writes them; a root handler (gunicorn's, a test runner's) would repeat them.
        logger.propagate = False
