"""A bounded soak of gunicorn on 127.0.0.1: 16 clients send mixed valid and invalid requests for a
fixed time; zero 5xx, zero dropped connections and resident memory growth under 10% pass.

    python -m tests.soak --seconds 180          # the full run (builds an index with the real model)
    python -m tests.soak --seconds 30 --index index

Traffic goes only to the server this starts on 127.0.0.1, and stops at the deadline."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .servers import HOST, REPO, SERVING_MODEL, Gunicorn, child_env

METRICS_TOKEN = "soak-metrics-token"
MAX_REQUESTS = 2_000_000          # a second bound, besides the deadline
CLIENT_TIMEOUT = 60.0
WARMUP_SHARE = 0.15               # memory is measured from the end of the warm-up on
MAX_GROWTH = 0.10


def questions() -> list[str]:
    out = []
    for name in ("generalization.jsonl", "calibration.jsonl"):
        path = REPO / "eval" / name
        if path.exists():
            out += [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    return out or ["What is Hong Kong's rank among Chongqing's trading partners?"]


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)        # (kind, seconds)
    dropped: int = 0
    unexpected: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float, expected: tuple[int, ...]) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.kinds[kind] += 1
            self.latencies.append((kind, seconds))
            if status not in expected and len(self.unexpected) < 20:
                self.unexpected.append((kind, status))

    def drop(self, kind: str, exc: Exception) -> None:
        with self.lock:
            self.dropped += 1
            if len(self.unexpected) < 20:
                self.unexpected.append((kind, f"{type(exc).__name__}: {exc}"))


def request_mix(rng: random.Random, qs: list[str]):
    """(kind, method, path, body bytes or None, headers, expected statuses)."""
    js = {"Content-Type": "application/json"}
    roll = rng.random()
    q = rng.choice(qs)
    if roll < 0.45:
        body = {"question": q, "k": rng.randint(1, 8)}
        if rng.random() < 0.3:
            body["history"] = [{"role": "user", "text": rng.choice(qs)},
                               {"role": "bot", "text": "An earlier answer. [1]"}]
        return "ask", "POST", "/api/ask", json.dumps(body).encode(), js, (200,)
    if roll < 0.50:
        return ("ask-off-topic", "POST", "/api/ask",
                json.dumps({"question": f"{q} zebra {rng.randint(0, 99)}"}).encode(), js, (200,))
    if roll < 0.58:
        return "health", "GET", "/api/health", None, {}, (200,)
    if roll < 0.62:
        return "documents", "GET", "/api/documents", None, {}, (200,)
    if roll < 0.65:
        return "page", "GET", "/", None, {}, (200,)
    if roll < 0.67:
        return "widget", "GET", "/widget.js", None, {}, (200,)
    if roll < 0.69:
        return "openapi", "GET", "/openapi.json", None, {}, (200,)
    if roll < 0.74:
        body = {"answer_id": "%032x" % rng.getrandbits(128), "rating": rng.choice(["up", "down"]),
                "question": q, "comment": "soak"}
        # An id this server never issued: refused (feedback on real answers is tested elsewhere).
        return "feedback", "POST", "/api/feedback", json.dumps(body).encode(), js, (404,)
    if roll < 0.76:
        return ("metrics", "GET", "/metrics", None,
                {"Authorization": f"Bearer {METRICS_TOKEN}"}, (200,))
    # Invalid requests, each with the 4xx it must get.
    invalid = [
        ("bad-json", "POST", "/api/ask", b'{"question": ', js, (400,)),
        ("bad-utf8", "POST", "/api/ask", b'{"question": "\xff\xfe"}', js, (400,)),
        ("wrong-type", "POST", "/api/ask", b"question=hi", {"Content-Type": "text/plain"}, (415,)),
        ("too-large", "POST", "/api/ask", b'{"question": "' + b"a" * 70_000 + b'"}', js, (413,)),
        ("empty", "POST", "/api/ask", b'{"question": "  \\u200b "}', js, (400,)),
        ("bad-k", "POST", "/api/ask", json.dumps({"question": q, "k": 99}).encode(), js, (400,)),
        ("unknown-path", "GET", f"/api/nothing-{rng.randint(0, 9999)}", None, {}, (404,)),
        ("wrong-method", "DELETE", "/api/ask", None, {}, (405,)),
        ("admin-no-token", "POST", "/api/index/rebuild", b"{}", js, (401, 429)),
        ("metrics-no-token", "GET", "/metrics", None, {}, (401, 429)),
        ("bad-feedback", "POST", "/api/feedback", b'{"rating": "meh"}', js, (400,)),
    ]
    return rng.choice(invalid)


def client_loop(port: int, deadline: float, seed: int, tally: Tally, qs: list[str],
                budget: list[int]) -> None:
    rng = random.Random(seed)
    conn = None
    while time.monotonic() < deadline:
        with tally.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        kind, method, path, body, headers, expected = request_mix(rng, qs)
        if conn is None:
            conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            reply.read()
            tally.add(kind, reply.status, time.perf_counter() - started, expected)
            if reply.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            tally.drop(kind, exc)
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def server_rss(pid: int) -> int:
    """Resident memory of gunicorn: the master and every worker."""
    parent = psutil.Process(pid)
    procs = [parent] + parent.children(recursive=True)
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def metrics_total(port: int) -> float:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = conn.getresponse().read().decode()
    conn.close()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("accord_http_requests_total{"))


def soak(index: Path, seconds: float, clients: int = 16, workers: int = 2,
         log: Path | None = None) -> dict:
    """Run the soak against a fresh gunicorn over `index`; the figures as a dict."""
    folder = Path(tempfile.mkdtemp(prefix="accord-soak-"))
    env = child_env(ACCORD_INDEX_DIR=str(index), ACCORD_FEEDBACK_DB=str(folder / "f.sqlite3"),
                    ACCORD_METRICS_TOKEN=METRICS_TOKEN, ACCORD_ADMIN_TOKEN="soak-admin-token",
                    # Every client is 127.0.0.1: a per-client limit would throttle the soak.
                    ACCORD_RATE_LIMIT="10000000/minute", ACCORD_FEEDBACK_RATE_LIMIT="10000000/minute",
                    PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
    server = Gunicorn(env, workers=workers, log=log or Path(tempfile.gettempdir()) / "accord-soak.log")
    try:
        server.wait_ready()
        qs = questions()
        tally = Tally()
        budget = [MAX_REQUESTS]
        start = time.monotonic()
        deadline = start + seconds
        threads = [threading.Thread(target=client_loop, daemon=True,
                                    args=(server.port, deadline, i, tally, qs, budget))
                   for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(min(seconds * WARMUP_SHARE, 30))
        rss_start = server_rss(server.proc.pid)
        samples = [rss_start]
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
            samples.append(server_rss(server.proc.pid))
        for t in threads:
            t.join(CLIENT_TIMEOUT + 5)
        elapsed = time.monotonic() - start
        rss_end = server_rss(server.proc.pid)
        counted = metrics_total(server.port)
        alive = server.proc.poll() is None
    finally:
        output = server.stop()
        shutil.rmtree(folder, ignore_errors=True)   # feedback db and metrics files of this run
    all_lat = [s for _, s in tally.latencies]
    ask_lat = [s for k, s in tally.latencies if k == "ask"]
    requests = sum(tally.statuses.values())
    errors_5xx = sum(n for status, n in tally.statuses.items() if status >= 500)
    return {
        "seconds": round(elapsed, 1), "clients": clients, "workers": workers,
        "requests": requests + tally.dropped, "replies": requests,
        "per_second": round(requests / elapsed, 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "errors_5xx": errors_5xx, "dropped_connections": tally.dropped,
        "unexpected": tally.unexpected,
        "latency_ms": {"p50": round(percentile(all_lat, 0.50) * 1000, 1),
                       "p95": round(percentile(all_lat, 0.95) * 1000, 1),
                       "p99": round(percentile(all_lat, 0.99) * 1000, 1)},
        "ask_latency_ms": {"p50": round(percentile(ask_lat, 0.50) * 1000, 1),
                           "p95": round(percentile(ask_lat, 0.95) * 1000, 1),
                           "mean": round(statistics.fmean(ask_lat) * 1000, 1) if ask_lat else 0},
        "rss_mb": {"start": round(rss_start / 2**20, 1), "end": round(rss_end / 2**20, 1),
                   "max": round(max(samples + [rss_end]) / 2**20, 1)},
        "rss_growth": round(rss_end / rss_start - 1, 4),
        "metrics_requests_total": counted,
        "server_alive": alive,
        "server_tracebacks": output.count("Traceback"),
        "first_traceback": _excerpt(output, "Traceback"),
    }


def _excerpt(text: str, word: str, size: int = 1500) -> str | None:
    at = text.find(word)
    return None if at < 0 else text[max(0, at - 300): at + size]


def passed(figures: dict) -> list[str]:
    """What failed (empty when the soak passed)."""
    problems = []
    if figures["errors_5xx"]:
        problems.append(f"{figures['errors_5xx']} replies were 5xx")
    if figures["dropped_connections"]:
        problems.append(f"{figures['dropped_connections']} connections were dropped")
    if figures["rss_growth"] >= MAX_GROWTH:
        problems.append(f"resident memory grew {figures['rss_growth']:.1%}")
    if not figures["server_alive"]:
        problems.append("the server died")
    if figures["server_tracebacks"]:
        problems.append("the server logged tracebacks")
    return problems


def build_real_index(folder: Path) -> Path:
    from bot.index.build import build_index
    from bot.embedding.encoder import SentenceTransformerEncoder
    index = folder / "index"
    build_index(REPO / "corpus", index, SentenceTransformerEncoder(SERVING_MODEL))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("ACCORD_SOAK_SECONDS", 180)))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index", type=Path, default=None,
                        help="A built index [default: build one from corpus/ in a temp folder].")
    parser.add_argument("--log", type=Path, default=None, help="Keep the server's log here.")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 3600 or not 1 <= args.clients <= 64:
        parser.error("--seconds must be 1..3600 and --clients 1..64")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    index = args.index or build_real_index(Path(tempfile.mkdtemp(prefix="accord-soak-index-")))
    figures = soak(index, args.seconds, args.clients, args.workers, args.log)
    print(json.dumps(figures, indent=2))
    problems = passed(figures)
    print("PASS" if not problems else "FAIL: " + "; ".join(problems), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
