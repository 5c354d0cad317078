"""Bounded input: body, question, history and upload sizes; text normalised (NFKC, no control
characters) before it is searched or stored."""
from __future__ import annotations

import http.client
import json
import threading

from werkzeug.serving import make_server

from bot.text.normalize import normalize_text
from bot.web.contract import MAX_QUESTION, MAX_TURN_CHARS, MAX_TURNS


def test_the_searched_query_is_normalised(client):
    reply = client.post("/api/ask", json={"question": "ＨＫＥＸ\u200b and the Share\x07 Transfer "
                                                      "Center?"})
    assert reply.status_code == 200
    assert reply.get_json()["query"].startswith("HKEX and the Share Transfer Center?")


def test_a_question_of_only_invisible_characters_is_empty(client):
    reply = client.post("/api/ask", json={"question": "\u200b\u200d\x00\x1f\u2028"})
    assert reply.status_code == 400
    assert "empty" in reply.get_json()["error"]["message"]


def test_history_is_normalised_and_bounded(client):
    ok = client.post("/api/ask", json={"question": "And youth?", "history": [
        {"role": "user", "text": "ＨＫＥＸ\x00 exchanges?"}] * MAX_TURNS})
    assert ok.status_code == 200
    for history in ([{"text": "a"}] * (MAX_TURNS + 1), [{"text": "a" * (MAX_TURN_CHARS + 1)}]):
        assert client.post("/api/ask", json={"question": "x", "history": history}).status_code == 400


def test_question_length_is_what_the_client_sent_trimmed(client):
    reply = client.post("/api/ask", json={"question": "q" * (MAX_QUESTION + 1)})
    assert reply.status_code == 400 and str(MAX_QUESTION) in reply.get_json()["error"]["message"]
    assert client.post("/api/ask", json={"question": "  " + "q" * MAX_QUESTION + "\n"}).status_code == 200
    # One character that NFKC turns into 18: what is searched is still cut to the limit.
    reply = client.post("/api/ask", json={"question": "\ufdfa" * MAX_QUESTION})
    assert reply.status_code == 200 and len(reply.get_json()["query"]) <= 2 * MAX_QUESTION


def test_filter_dates_must_be_plain_iso_dates(client):
    for value in ("20230511", "2023-W19-4", "2023-05-11T00:00"):
        reply = client.post("/api/ask", json={"question": "x", "filters": {"date_from": value}})
        assert reply.status_code == 400, value
    assert client.post("/api/ask", json={"question": "x", "filters": {
        "date_from": "2023-05-11"}}).status_code == 200


def test_a_chunked_body_over_the_limit_is_refused(app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        def chunks():
            yield b'{"question": "'
            for _ in range(limit // 1000 + 2):
                yield b"a" * 1000
            yield b'"}'

        # No Content-Length: the limit applies while the body is read.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/api/ask", body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 413
        assert json.loads(reply.read())["error"]["code"] == "payload_too_large"
        conn.close()
    finally:
        server.shutdown()


def test_admin_uploads_have_their_own_larger_bound(make_app):
    app = make_app(ADMIN_TOKEN="t", MAX_CONTENT_LENGTH=1000, MAX_UPLOAD_LENGTH=5000)
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    # A document bigger than the API limit reaches the admin endpoint (which judges it) ...
    body = {"documents": [{"id": "x", "title": "t", "text": "y" * 2000}]}
    assert client.post("/api/documents", json=body, headers=auth).status_code != 413
    # ... but not one over the upload limit, refused before it is read.
    body = {"documents": [{"id": "x", "title": "t", "text": "y" * 6000}]}
    reply = client.post("/api/documents", json=body, headers=auth)
    assert reply.status_code == 413 and "5000" in reply.get_json()["error"]["message"]
    # The public API keeps its own limit.
    assert client.post("/api/ask", json={"question": "y" * 1500}).status_code == 413


def test_upload_size_from_the_environment_is_an_int(monkeypatch, make_app):
    monkeypatch.setenv("ACCORD_MAX_UPLOAD_LENGTH", "123456")
    assert make_app().config["MAX_UPLOAD_LENGTH"] == 123456


def test_the_documented_visible_pattern_agrees_with_normalising():
    """/openapi.json says which questions are not empty with VISIBLE; the server decides by
    normalising. They must agree on every character of the Basic Multilingual Plane."""
    import re

    from bot.web.contract import VISIBLE
    visible = re.compile(VISIBLE)
    differ = [hex(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF
              and bool(visible.search(chr(cp))) != bool(normalize_text(chr(cp)))]
    assert differ == []


def test_a_lone_surrogate_is_dropped_not_refused(client):
    # JSON "\ud800" is a string Python holds and pydantic's str refuses; normalising drops it.
    reply = client.post("/api/ask", json={"question": "HKEX\ud800 and the Share Transfer Center?",
                                          "history": [{"text": "\udfff earlier"}],
                                          "filters": {"source": "Test wire\ud800"}})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["query"].startswith("HKEX and the Share Transfer Center?")
