"""The soak in the test suite: gunicorn (2 workers, the real model) under 16 clients of mixed valid
and invalid requests for ACCORD_SOAK_SECONDS (20 by default; `python -m tests.soak` runs 180)."""
from __future__ import annotations

import json
import os

import pytest

from ..soak import passed, soak

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("ACCORD_SOAK_SECONDS", "20"))


def test_soak(serving_index, tmp_path):
    log = tmp_path / "server.log"
    figures = soak(serving_index, SECONDS, clients=16, workers=2, log=log)
    print("\nsoak:", json.dumps(figures))
    problems = passed(figures)
    if figures["unexpected"]:
        problems.append(f"unexpected replies: {figures['unexpected']}")
    if figures["replies"] < 10 * SECONDS:
        problems.append(f"only {figures['replies']} replies")
    missing = {200, 400, 401, 404, 405, 413, 415} - set(figures["statuses"])
    if missing:
        problems.append(f"no reply with status {sorted(missing)}")
    # Multiprocess metrics: one scrape counts the requests of both workers.
    if figures["metrics_requests_total"] < figures["replies"]:
        problems.append(f"/metrics counted {figures['metrics_requests_total']} requests")
    # Every line the server wrote is JSON; every access line has its request id.
    lines, other = [], []
    for line in log.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            other.append(line)
    if [line for line in other if line.strip()]:
        problems.append(f"lines that are not JSON: {other[:5]}")
    access = [line for line in lines if line.get("logger") == "accord.access"]
    if len(access) < figures["replies"] or not all(line["request_id"] for line in access):
        problems.append(f"{len(access)} access lines for {figures['replies']} replies")
    assert not problems, f"{problems}; figures: {figures}; server log: {log}"
