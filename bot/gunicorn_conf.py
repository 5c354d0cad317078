"""Gunicorn settings for `accord serve` and the Procfile (`gunicorn -c python:bot.gunicorn_conf`):
the worker that reads requests in its event loop with deadlines (bot.web.worker), JSON log lines,
and Prometheus multiprocess mode so /metrics adds up all workers."""
from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Set before any worker imports prometheus_client, which picks its storage when imported: the
# workers inherit it from this (master) process.
_given_dir = os.environ.get(MULTIPROC_ENV)
metrics_dir = _given_dir or tempfile.mkdtemp(prefix="accord-metrics-")
os.environ[MULTIPROC_ENV] = metrics_dir

# Tornado reads every request whole, within deadlines, before one of `threads` threads runs the
# app: slow clients hold sockets, never threads (see docs/operations.md, "Slow clients").
worker_class = "bot.web.worker.Worker"
threads = 4
# A worker whose event loop stops answering the master's heartbeat this long is replaced.
timeout = 120

# The app writes one JSON access line per request itself (with the request id).
accesslog = None
# Gunicorn's control socket has one default path per user: two servers (or a server and a test
# run) would take each other's.
control_socket_disable = True

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bot.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "bot.logs.StderrHandler", "formatter": "json"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        # One JSON access line per request is the app's; tornado's own would repeat it.
        "tornado.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}


def on_starting(server) -> None:
    """Counts left by an earlier run in a given folder would be added to this run's."""
    os.makedirs(metrics_dir, exist_ok=True)
    for path in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(path)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)


def worker_exit(server, worker) -> None:
    """A worker forked from a preloaded master (`accord serve`) ends with os._exit, keeping the
    exit code: ONNX Runtime's environment, started in the master, cannot be torn down in a
    forked child (its destructors abort, or hang and leave the worker behind). Requests, logs
    and files are all finished by the time gunicorn calls this."""
    if not server.cfg.preload_app:
        return
    exc = sys.exc_info()[1]
    code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else int(exc is not None)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def on_exit(server) -> None:
    if not _given_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
