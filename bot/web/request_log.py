"""A request id on every reply (X-Request-ID, a sane incoming one kept) and one JSON access-log
line per request: method, path, status, latency and whether the question was answered."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
# Ids from a proxy or a client are kept only when they cannot smuggle anything into logs/headers.
SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

access_log = logging.getLogger("accord.access")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id() -> str:
    """The current request's id (a new one if the request has none yet)."""
    if "request_id" not in g:
        g.request_id = new_request_id()
    return g.request_id


def _start() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if SANE_ID.fullmatch(incoming) else new_request_id()


def elapsed_seconds() -> float:
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else 0.0


def _finish(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    # The path only: a query string could carry something a person did not mean to have logged.
    access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "method": request.method, "path": request.path, "status": response.status_code,
        "latency_ms": round(elapsed_seconds() * 1000, 1), "answered": g.get("answered"),
        "endpoint": request.url_rule.rule if request.url_rule else None,
        "client": request.remote_addr, "bytes": response.calculate_content_length()})
    return response


def init_app(app: Flask) -> None:
    """Register first, so every other hook and handler runs inside an identified request and this
    after_request, registered first, runs last and logs the final status."""
    app.before_request(_start)
    app.after_request(_finish)
