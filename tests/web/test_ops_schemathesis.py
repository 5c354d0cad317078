"""Fuzzing every operation of /openapi.json with schemathesis: valid and invalid requests, bounded
in number; no reply is a 5xx, and every reply matches the status, type and schema documented."""
from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from hypothesis import HealthCheck, settings

from bot import create_app
from bot.index.build import build_index

from ..conftest import SMALL_DOC
from ..fakes import FakeEncoder

# Per operation; ACCORD_FUZZ_EXAMPLES raises it for a longer run.
EXAMPLES = int(os.environ.get("ACCORD_FUZZ_EXAMPLES", "60"))
METRICS_TOKEN = "fuzz-metrics-token"
COUNTS: Counter = Counter()


def fuzz_app(folder: Path):
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "small-doc.md").write_text(SMALL_DOC, encoding="utf-8")
    encoder = FakeEncoder()
    build_index(corpus, folder / "index", encoder)
    # Limits high enough that fuzzing is not throttled (the limits have tests of their own).
    # The admin token is set but not given to schemathesis: admin operations are fuzzed up to
    # their authentication, so no random upload rebuilds the index.
    return create_app({"TESTING": True, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(folder / "index"),
                       "ENCODER": encoder, "FEEDBACK_DB": str(folder / "feedback.sqlite3"),
                       "ADMIN_TOKEN": "fuzz-admin-token-not-given", "METRICS_TOKEN": METRICS_TOKEN,
                       "RATE_LIMIT": "100000/minute", "FEEDBACK_RATE_LIMIT": "100000/minute",
                       "ADMIN_RATE_LIMIT": "100000/minute"})


# Loaded when the module is collected: schemathesis's lazy fixture loader does not work with
# pytest 9 (it reads a private attribute that is gone). The folder is removed after the module.
_FOLDER = tempfile.TemporaryDirectory(prefix="accord-fuzz-")
APP = fuzz_app(Path(_FOLDER.name))
# An invalid request may also be refused for its size (413) or its media type (415), both
# documented; schemathesis's default list of rejections lacks 413.
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "404", "405", "413", "415", "429"]}}})
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    _FOLDER.cleanup()
    if COUNTS:
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(COUNTS.items()))
        print(f"\nschemathesis: {sum(v for k, v in COUNTS.items() if k.startswith('status'))} "
              f"requests; {summary}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation(case):
    headers = {}
    if case.path == "/metrics" and case.operation.method.upper() == "GET" and COUNTS["metrics"] % 2:
        headers["Authorization"] = f"Bearer {METRICS_TOKEN}"   # half the scrapes authorised
    COUNTS["metrics"] += case.path == "/metrics"
    response = case.call_and_validate(headers=headers)
    COUNTS[f"status {response.status_code}"] += 1
    assert response.status_code < 500
