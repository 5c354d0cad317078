"""Request ids on every reply and in every log line, JSON access logs, and /metrics."""
from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

ID = re.compile(r"^[0-9a-f]{32}$")
TOKEN = "scrape-token"


def log_lines(err: str) -> list[dict]:
    """Every line written to stderr, each parsed as JSON (a line that is not JSON fails)."""
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def samples(reply) -> dict[tuple[str, tuple], float]:
    assert reply.status_code == 200, reply.data
    assert reply.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(reply.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(all_samples, name: str, **labels) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client):
    return samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}))


def test_every_reply_has_a_request_id(client):
    ids = set()
    for reply in (client.get("/"), client.get("/api/health"), client.get("/api/nope"),
                  client.post("/api/ask", json={"question": ""}),
                  client.post("/api/ask", json={"question": "HKEX?"}),
                  client.delete("/api/health"), client.get("/static/chat.js")):
        assert ID.match(reply.headers["X-Request-ID"])
        ids.add(reply.headers["X-Request-ID"])
    assert len(ids) == 7


@pytest.mark.parametrize("incoming, kept", [
    ("req-2024-11-21.abc:42", True),
    ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("bad id with spaces", False),
    ("evil\u2028line", False),
    ("-starts-with-dash", False),
    ('{"json": 1}', False),
])
def test_a_sane_incoming_request_id_is_kept(client, incoming, kept):
    reply = client.get("/api/health", headers={"X-Request-ID": incoming.encode("utf-8")
                                               .decode("latin-1")})
    if kept:
        assert reply.headers["X-Request-ID"] == incoming
    else:
        assert ID.match(reply.headers["X-Request-ID"])


def test_every_log_line_is_json_with_the_request_id(client, capsys):
    capsys.readouterr()
    answered = client.post("/api/ask", json={"question": "What about the HKEX and the Share "
                                                         "Transfer Center?"},
                           headers={"X-Request-ID": "trace-answered-1"})
    unanswered = client.post("/api/ask", json={"question": "zebra quantum violin"})
    client.get("/api/nope?secret=1")
    lines = log_lines(capsys.readouterr().err)
    access = [line for line in lines if line["logger"] == "accord.access"]
    assert len(access) == 3
    assert all(line["request_id"] for line in lines)
    first, second, third = access
    assert first["request_id"] == "trace-answered-1" == answered.headers["X-Request-ID"]
    assert (first["method"], first["path"], first["status"], first["answered"]) == (
        "POST", "/api/ask", 200, True)
    assert second["answered"] is False
    assert second["request_id"] == unanswered.headers["X-Request-ID"]
    assert third["status"] == 404 and third["path"] == "/api/nope" and third["answered"] is None
    for line in access:
        assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
        assert line["level"] == "info" and line["time"].endswith("+00:00")


def test_lines_logged_by_the_app_carry_the_request_id(app, client, capsys):
    @app.get("/api/log-something")
    def log_something():
        logging.getLogger("accord").warning("something worth knowing")
        return {"ok": True}

    capsys.readouterr()
    reply = client.get("/api/log-something")
    lines = [line for line in log_lines(capsys.readouterr().err)
             if line["message"] == "something worth knowing"]
    assert lines and lines[0]["request_id"] == reply.headers["X-Request-ID"]
    assert lines[0]["level"] == "warning"


def test_metrics_are_closed_without_a_token(client):
    reply = client.get("/metrics")
    assert reply.status_code == 401
    assert "ACCORD_METRICS_TOKEN" in reply.get_json()["error"]["message"]


def test_metrics_need_the_token(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        reply = client.get("/metrics", headers=auth)
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_count_requests_answers_and_describe_the_index(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    client.post("/api/ask", json={"question": "What about the HKEX and the Share Transfer Center?"})
    client.post("/api/ask", json={"question": "zebra quantum violin"})
    client.post("/api/ask", json={"question": "zebra quantum violin again"})
    client.post("/api/ask", json={"question": ""})
    client.get("/api/nope-1")
    client.get("/api/nope-2")
    answer_id = client.post("/api/ask", json={
        "question": "What about the HKEX and the Share Transfer Center?"}).get_json()["answer_id"]
    client.post("/api/feedback", json={"answer_id": answer_id, "rating": "down"})
    got = scrape(client)
    ask = {"endpoint": "/api/ask", "method": "POST"}
    assert value(got, "accord_http_requests_total", status="200", **ask) == 4
    assert value(got, "accord_http_requests_total", status="400", **ask) == 1
    # Unknown paths share one label, so scanning cannot grow the number of series.
    assert value(got, "accord_http_requests_total", endpoint="(unmatched)", method="GET",
                 status="404") == 2
    latency = {"endpoint": "/api/ask", "status": "2xx"}
    assert value(got, "accord_http_request_duration_seconds_count", **latency) == 4
    assert value(got, "accord_http_request_duration_seconds_sum", **latency) > 0
    assert value(got, "accord_answers_total", answered="true") == 2
    assert value(got, "accord_answers_total", answered="false") == 2
    assert value(got, "accord_feedback_total", rating="down") == 1
    assert value(got, "accord_index_loaded") == 1
    assert value(got, "accord_index_documents") == 1
    assert value(got, "accord_index_passages") >= 1
    assert value(got, "accord_index_built_timestamp_seconds") > 1.6e9
    info = [labels for (name, labels) in got if name == "accord_index_info"]
    assert len(info) == 1 and dict(info[0])["version"]


def test_metrics_without_an_index(tmp_path, fake_encoder):
    from bot import create_app
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "ENCODER": fake_encoder,
                      "METRICS_TOKEN": TOKEN, "FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    got = scrape(app.test_client())
    assert value(got, "accord_index_loaded") == 0
    assert not any(name == "accord_index_info" for name, _ in got)


def test_metrics_stay_small_whatever_methods_paths_and_statuses_are_sent(make_app):
    """Made-up methods, random paths and every status code once each: every label keeps to its
    fixed set and the scrape stays under 200 KB (a label per method sent grew it to 34 MB)."""
    import random
    import string

    from flask import Response

    from bot.web.metrics import METHODS, OTHER, STATUSES, UNMATCHED

    app = make_app(METRICS_TOKEN=TOKEN)
    # A route that answers any status, standing for whatever codes the app or a library sends.
    app.add_url_rule("/test/status/<int:code>", "any_status",
                     lambda code: Response(status=code), methods=list(METHODS))
    client = app.test_client()
    rnd = random.Random(12)
    rules = [r.rule.replace("<path:filename>", "chat.js").replace("<doc_id>", "small-doc")
             for r in app.url_map.iter_rules() if "<int:" not in r.rule]
    word = lambda n: "".join(rnd.choice(string.ascii_letters) for _ in range(n))  # noqa: E731
    for i in range(3000):
        method = rnd.choice(sorted(METHODS) + ["TRACE", "CONNECT"]) if i % 2 else word(5).upper()
        path = rnd.choice(rules) if i % 3 else "/" + word(rnd.randint(1, 30))
        client.open(path, method=method)
    for code in range(100, 1000):
        client.get(f"/test/status/{code}")
        client.open(f"/test/status/{code}", method=word(6))
    reply = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    print("scrape bytes", len(reply.data))
    assert len(reply.data) < 200 * 1024, len(reply.data)
    got = samples(reply)
    endpoints = {r.rule for r in app.url_map.iter_rules()} | {UNMATCHED}
    statuses = {str(c) for c in STATUSES} | {f"{c}xx" for c in range(1, 6)} | {OTHER}
    series = [dict(labels) for name, labels in got if name == "accord_http_requests_total"]
    assert {s["method"] for s in series} <= METHODS | {OTHER}
    assert {s["status"] for s in series} <= statuses
    assert {s["endpoint"] for s in series} <= endpoints
    assert {"other", "5xx", "2xx"} <= {s["status"] for s in series}
