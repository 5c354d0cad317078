"""Documents added and removed through the admin API while 8 clients ask questions of a
gunicorn server: no failed request, and every worker ends on the last version."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ..conftest import CORPUS
from ..servers import SERVING_MODEL

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("ACCORD_LOAD_SECONDS", "12"))
CLIENTS = 8
WORKERS = 2
QUESTIONS = ["What is Hong Kong's rank among Chongqing's trading partners?",
             "What does the Golden Phoenix Laboratory focus on?",
             "Who won the Champions League final?",
             "What did Gong Zheng say Shanghai is building?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, body=None, method=None, token=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read())


def _admin(url, path, body=None, method=None):
    """An admin call as documented: a change not done within a few seconds answers 202 and a
    job to poll until it is done."""
    status, reply = _call(url + path, body, method=method, token="load-token")
    deadline = time.time() + 300
    while status == 202 and time.time() < deadline:
        time.sleep(1)
        _, job = _call(url + reply["location"], token="load-token")   # 200 while it runs too
        if job["status"] != "running":
            status, reply = job["http_status"], job["result"] or job
    return status, reply


@pytest.fixture
def server(tmp_path, serving_index):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    shutil.copytree(serving_index, index, symlinks=True)   # its build cache keeps builds short
    port = _free_port()
    env = dict(os.environ, ACCORD_CORPUS_DIR=str(corpus), ACCORD_INDEX_DIR=str(index),
               ACCORD_ADMIN_TOKEN="load-token", ACCORD_RATE_LIMIT="100000/minute",
               ACCORD_ADMIN_RATE_LIMIT="10000/minute", HF_HUB_OFFLINE="1", ACCORD_MODEL=SERVING_MODEL)
    # `accord serve` as people run it: gunicorn with --preload, workers forked from one master.
    accord = str(Path(sys.executable).with_name("accord"))
    proc = subprocess.Popen([accord, "serve", "--port", str(port), "--workers", str(WORKERS),
                             "--corpus", str(corpus), "--index", str(index)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if _call(url + "/api/health", timeout=2)[0] == 200:
                break
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_no_failed_request_while_documents_change(server):
    stop = time.time() + SECONDS
    failures, latencies, lock, done = [], [], threading.Lock(), threading.Event()

    def client(n):
        i = n
        while not done.is_set():
            t = time.perf_counter()
            try:
                status, reply = _call(server + "/api/ask", {"question": QUESTIONS[i % len(QUESTIONS)]})
                ok = status == 200 and "answered" in reply
            except Exception as exc:  # a refused or dropped connection is a failure too
                ok, reply = False, repr(exc)
            with lock:
                latencies.append(time.perf_counter() - t)
                if not ok:
                    failures.append(reply)
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    versions, n = [], 0
    try:
        # At least two changes, however slow the machine.
        while time.time() < stop - 1 or (len(versions) < 2 and time.time() < stop + 120):
            doc = {"id": f"load-note-{n}", "title": "Load note", "date": "2024-07-01",
                   "text": f"Note {n}: Hong Kong and Chongqing discussed rail freight number {n}."}
            status, reply = _admin(server, "/api/documents", {"documents": [doc]})
            assert status == 200 and reply.get("changes", {}).get("added") == [doc["id"]], reply
            versions.append(reply["index_version"])
            if n % 2:
                status, reply = _admin(server, f"/api/documents/{doc['id']}", method="DELETE")
                assert status == 200 and reply.get("changes", {}).get("removed") == [doc["id"]], \
                    reply
                versions.append(reply["index_version"])
            n += 1
    finally:   # the clients stop whatever happens here, or pytest never exits
        done.set()
        for t in threads:
            t.join()
    assert len(versions) >= 2, "the run was too short to change the index"
    assert failures == [], failures[:3]

    seen = {}
    for _ in range(40):
        status, health = _call(server + "/api/health")
        seen[health["worker"]] = health["index_version"]
    assert len(seen) == WORKERS, seen
    assert set(seen.values()) == {versions[-1]}
    print(f"\nload: {len(latencies)} requests in {time.time() - stop + SECONDS:.0f}s by {CLIENTS} clients, 0 failed, "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {statistics.quantiles(latencies, n=20)[-1] * 1000:.0f} ms; "
          f"{len(versions)} index versions published; workers {sorted(seen)} on {versions[-1]}")
