"""Security headers on every reply; no token, traceback, path or version in what a client sees or
in the logs."""
from __future__ import annotations

import http.client
import re
import sys
import threading

from importlib.metadata import version

import pytest
from werkzeug.serving import make_server

import bot
from bot.web.devserver import QuietRequestHandler

from .test_web_errors import error_requests

ADMIN_TOKEN = "adm1n-T0ken-that-must-stay-secret"
METRICS_TOKEN = "metr1cs-T0ken-that-must-stay-secret"
JSON = "application/json"
VERSIONS = (version("flask"), version("werkzeug"), version("gunicorn"), sys.version.split()[0])


@pytest.fixture
def secret_app(make_app):
    return make_app(ADMIN_TOKEN=ADMIN_TOKEN, METRICS_TOKEN=METRICS_TOKEN, RATE_LIMIT="1000/minute",
                    PROPAGATE_EXCEPTIONS=False)


def every_kind_of_reply(app):
    """(name, reply) for pages, API, static files, errors of every kind."""
    client = app.test_client()
    replies = [
        ("page", client.get("/")),
        ("widget", client.get("/widget.js")),
        ("static", client.get("/static/chat.css")),
        ("openapi", client.get("/openapi.json")),
        ("health", client.get("/api/health")),
        ("documents", client.get("/api/documents")),
        ("ask", client.post("/api/ask", json={"question": "HKEX?"})),
        ("feedback", client.post("/api/feedback", json={"answer_id": "a" * 32, "rating": "up"})),
        ("metrics", client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})),
        ("metrics closed", client.get("/metrics")),
    ]
    for name, method, path, kwargs, _ in error_requests(app.config["MAX_CONTENT_LENGTH"]):
        replies.append((name, getattr(client, method)(path, **kwargs)))
    return replies


def test_security_headers_on_every_reply(secret_app):
    for name, reply in every_kind_of_reply(secret_app):
        headers = reply.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "no-referrer", name
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name
        assert "frame-ancestors" in csp, name
        if reply.mimetype == "text/html":
            assert "script-src 'self'" in csp and headers["X-Frame-Options"] == "SAMEORIGIN", name
        else:
            assert csp.startswith("default-src 'none'") and headers["X-Frame-Options"] == "DENY", name
        assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"]), name


def test_api_replies_are_not_stored_by_caches(secret_app):
    client = secret_app.test_client()
    assert client.post("/api/ask", json={"question": "HKEX?"}).headers["Cache-Control"] == "no-store"
    assert client.get("/api/nothing").headers["Cache-Control"] == "no-store"
    # The widget keeps its own cache policy.
    assert "max-age" in client.get("/widget.js").headers["Cache-Control"]


def test_a_crash_leaks_no_traceback_path_or_version(secret_app, monkeypatch, capsys):
    def explode(*args, **kwargs):
        raise RuntimeError(f"boom in {bot.__file__} with {ADMIN_TOKEN}")

    monkeypatch.setattr(secret_app.extensions["accord"].bot, "ask", explode)
    reply = secret_app.test_client().post("/api/ask", json={"question": "HKEX?"})
    assert reply.status_code == 500
    text = reply.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "boom", "/bot/", ".py", ADMIN_TOKEN, *VERSIONS):
        assert leak not in text, leak
    # The id in the message is the reply's X-Request-ID, and the log line that has the traceback.
    request_id = reply.headers["X-Request-ID"]
    assert request_id in reply.get_json()["error"]["message"]
    logged = [line for line in capsys.readouterr().err.splitlines() if request_id in line]
    assert any("Traceback" in line for line in logged)


def test_no_error_reply_leaks_paths_or_versions(secret_app):
    versions = (*VERSIONS, bot.__version__)
    for name, reply in every_kind_of_reply(secret_app):
        if reply.status_code < 400:
            continue
        text = reply.get_data(as_text=True)
        assert "Traceback" not in text and "File \"" not in text, name
        assert str(bot.__file__).rsplit("/", 2)[0] not in text, name
        for version in versions:
            assert version not in text, (name, version)
        assert "Server" not in reply.headers or reply.headers["Server"] == "accord", name


def test_tokens_never_appear_in_replies_logs_or_openapi(secret_app, capsys):
    client = secret_app.test_client()
    wrong = ADMIN_TOKEN[:-1] + "X"
    for token in (ADMIN_TOKEN, wrong, METRICS_TOKEN):
        auth = {"Authorization": f"Bearer {token}"}
        replies = [client.post("/api/index/rebuild", headers=auth, json={}),
                   client.delete("/api/documents/no-such-doc", headers=auth),
                   client.post("/api/documents", headers=auth, json={"documents": []}),
                   client.get("/metrics", headers=auth),
                   client.get(f"/api/nothing?token={token}", headers=auth)]
        for reply in replies:
            assert token not in reply.get_data(as_text=True)
            assert all(token not in value for _, value in reply.headers.items())
    spec = client.get("/openapi.json").get_data(as_text=True)
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    logged = capsys.readouterr().err
    assert "/api/nothing" in logged   # the requests were logged ...
    for token in (ADMIN_TOKEN, wrong, METRICS_TOKEN):
        assert token not in spec and token not in logged   # ... without the tokens
        assert token not in metrics.get_data(as_text=True)


def test_dev_server_does_not_announce_versions(secret_app):
    server = make_server("127.0.0.1", 0, secret_app, threaded=True,
                         request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for path in ("/", "/api/nothing", "/api/health"):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", path)
            reply = conn.getresponse()
            reply.read()
            assert reply.getheader("Server") == "accord"
            conn.close()
    finally:
        server.shutdown()


def test_unavailable_index_replies_name_no_server_paths(tmp_path, fake_encoder):
    missing = tmp_path / "secret-folder" / "index"
    app = bot.create_app({"TESTING": True, "INDEX_DIR": str(missing), "ENCODER": fake_encoder,
                          "FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    client = app.test_client()
    for reply in (client.get("/api/health"), client.get("/api/documents"), client.get("/"),
                  client.post("/api/ask", json={"question": "HKEX?"})):
        text = reply.get_data(as_text=True)
        assert str(tmp_path) not in text and "secret-folder" not in text
        # The API says what to do; the visitors' page only that the bot is not ready yet.
        assert ("not ready yet" if reply.mimetype == "text/html" else "accord build") in text
