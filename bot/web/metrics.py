"""Prometheus metrics at /metrics: requests and latencies by endpoint and status, answered and
unanswered questions, feedback, and the index being served. Closed unless METRICS_TOKEN is set.

Under gunicorn each worker is a process: with PROMETHEUS_MULTIPROC_DIR set (bot/gunicorn_conf.py
sets it) the counters of every worker are added up; without it a scrape sees one worker's."""
from __future__ import annotations

import datetime as dt
import hmac
import os
from typing import Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .errors import ApiError
from .request_log import elapsed_seconds

bp = Blueprint("metrics", __name__)

KEY = "accord_metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Every label takes its values from a small fixed set, whatever a client sends: the series (and
# the multiprocess files, and the scrape) cannot grow with made-up methods, paths or codes.
UNMATCHED = "(unmatched)"   # every unknown path (and every 405) under one label
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# The codes this app and its libraries send; anything else is counted by its class ("5xx").
STATUSES = frozenset({200, 201, 202, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405,
                      409, 411, 413, 414, 415, 416, 422, 429, 431, 500, 501, 502, 503, 504})


def method_label(method: str) -> str:
    """The method as sent when it is a standard one (methods are case-sensitive), else 'other'."""
    return method if method in METHODS else OTHER


def status_label(code: int) -> str:
    """The code when the app may send it, else its class ('5xx'), or 'other' outside 100-599."""
    if code in STATUSES:
        return str(code)
    return status_class(code)


def status_class(code: int) -> str:
    """'2xx', '4xx', ... ('other' outside 100-599)."""
    return f"{code // 100}xx" if 100 <= code <= 599 else OTHER


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class IndexCollector(Collector):
    """The index this process serves, read when scraped (hot reloads show at once)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        holder = self.app.extensions.get("accord")
        bot = getattr(holder, "bot", None)
        loaded = GaugeMetricFamily("accord_index_loaded",
                                   "1 when an index is loaded, 0 while questions get 503.")
        loaded.add_metric([], 1 if bot is not None else 0)
        yield loaded
        if bot is None:
            return
        manifest = bot.index.manifest
        info = GaugeMetricFamily("accord_index_info", "The index version being served (always 1).",
                                 labels=["version", "model"])
        info.add_metric([str(manifest.get("version")), str(manifest.get("model", {}).get("name"))], 1)
        yield info
        documents = GaugeMetricFamily("accord_index_documents", "Documents in the served index.")
        documents.add_metric([], len(manifest.get("corpus", {}).get("documents", [])))
        yield documents
        passages = GaugeMetricFamily("accord_index_passages", "Passages in the served index.")
        passages.add_metric([], int(manifest.get("passages") or 0))
        yield passages
        built = _timestamp(manifest.get("built_at"))
        if built is not None:
            when = GaugeMetricFamily("accord_index_built_timestamp_seconds",
                                     "When the served index was built (Unix time).")
            when.add_metric([], built)
            yield when


def _timestamp(value: object) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


class Metrics:
    """The app's metrics, in a registry of its own (several apps may live in one test process)."""

    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("accord_http_requests", "HTTP requests by endpoint, method and "
                                "status.", ["endpoint", "method", "status"], registry=self.registry)
        # By status class only, no method: a histogram is 15 series, so it gets the fewest labels.
        self.latency = Histogram("accord_http_request_duration_seconds", "Time to answer HTTP "
                                 "requests by endpoint and status class (2xx, 4xx, ...).",
                                 ["endpoint", "status"], buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.answers = Counter("accord_answers", "Questions asked, by whether the documents "
                               "answered them.", ["answered"], registry=self.registry)
        self.feedback = Counter("accord_feedback", "Feedback received, by rating.", ["rating"],
                                registry=self.registry)
        self.index = IndexCollector(app)
        self.multiprocess = multiprocess_dir()
        if not self.multiprocess:
            self.registry.register(self.index)
            ProcessCollector(registry=self.registry)

    def scrape_registry(self) -> CollectorRegistry:
        if not self.multiprocess:
            return self.registry
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess)
        registry.register(self.index)
        return registry

    def observe(self, response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
        code = response.status_code
        self.requests.labels(endpoint, method_label(request.method), status_label(code)).inc()
        self.latency.labels(endpoint, status_class(code)).observe(elapsed_seconds())
        answered = g.get("answered")
        if answered is not None:
            self.answers.labels("true" if answered else "false").inc()
        rating = g.get("feedback_rating")
        if rating:
            self.feedback.labels(rating).inc()
        return response


def _given_token() -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def token_matches() -> bool:
    """Whether the request carries the configured metrics token (compared in constant time, so it
    cannot be found byte by byte from reply times)."""
    token = current_app.config.get("METRICS_TOKEN")
    given = _given_token()
    return bool(token and given) and hmac.compare_digest(given.encode(), token.encode())


def _check_token() -> None:
    if not current_app.config.get("METRICS_TOKEN"):
        raise ApiError(401, "Metrics are closed: the server has no ACCORD_METRICS_TOKEN "
                            "configured.")
    if not _given_token():
        raise ApiError(401, "Send the metrics token as 'Authorization: Bearer <token>'.")
    if not token_matches():
        raise ApiError(401, "The metrics token is wrong.")


@bp.get("/metrics")
def metrics():
    _check_token()
    body = generate_latest(current_app.extensions[KEY].scrape_registry())
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def init_app(app: Flask) -> Metrics:
    """Count every request: register right after request_log, so this runs just before it."""
    app.extensions[KEY] = metrics = Metrics(app)
    app.after_request(metrics.observe)
    app.register_blueprint(bp)
    return metrics
