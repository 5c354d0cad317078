"""The soak in the test suite: gunicorn (2 workers, the real model) under 16 clients of mixed valid
and invalid requests for ACCORD_SOAK_SECONDS (20 by default; `python -m tests.soak` runs 180)."""
from __future__ import annotations

import json
import os

import pytest

from .soak import passed, soak

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("ACCORD_SOAK_SECONDS", "20"))


def test_soak(real_index, tmp_path):
    log = tmp_path / "server.log"
    figures = soak(real_index, SECONDS, clients=16, workers=2, log=log)
    print("\nsoak:", json.dumps(figures))
    assert passed(figures) == [], figures
    assert figures["unexpected"] == [], figures["unexpected"]
    assert figures["replies"] >= 10 * SECONDS
    assert {200, 400, 401, 404, 405, 413, 415} <= set(figures["statuses"])
    # Multiprocess metrics: one scrape counts the requests of both workers.
    assert figures["metrics_requests_total"] >= figures["replies"]
    # Every line the server wrote is JSON; every access line has its request id.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "accord.access"]
    assert len(access) >= figures["replies"]
    assert all(line["request_id"] for line in access)
