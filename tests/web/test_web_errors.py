"""Every error a client can provoke comes back as {"error": {"code", "message"}} with its status."""
from __future__ import annotations

import json

import pytest

from bot import create_app
from bot.web.contract import MAX_QUESTION, MAX_TURNS

ASK = "/api/ask"


def ask_json(client, body, **kwargs):
    return client.post(ASK, data=json.dumps(body), content_type="application/json", **kwargs)


def error_of(reply, status: int, code: str) -> str:
    assert reply.status_code == status, reply.data
    assert reply.mimetype == "application/json"
    body = reply.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"].strip()
    return body["error"]["message"]


def test_unknown_path_is_404(client):
    message = error_of(client.get("/api/nothing-here"), 404, "not_found")
    assert "openapi.json" in message
    error_of(client.get("/no/such/page"), 404, "not_found")
    error_of(client.get("/static/missing.js"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client):
    reply = client.get(ASK)
    error_of(reply, 405, "method_not_allowed")
    assert "POST" in reply.headers["Allow"]
    error_of(client.delete("/api/health"), 405, "method_not_allowed")


def test_body_over_limit_is_413_before_parsing(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert isinstance(limit, int)
    # Not even JSON and the wrong type: the size alone decides, so nothing was read.
    reply = client.post(ASK, data=b"x" * (limit + 1), content_type="text/plain")
    message = error_of(reply, 413, "payload_too_large")
    assert str(limit) in message


def test_max_content_length_from_environment_is_an_int(monkeypatch, index_dir, fake_encoder):
    monkeypatch.setenv("ACCORD_MAX_CONTENT_LENGTH", "1000")
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder})
    assert app.config["MAX_CONTENT_LENGTH"] == 1000
    reply = ask_json(app.test_client(), {"question": "x" * 990})
    error_of(reply, 413, "payload_too_large")


def test_bad_max_content_length_is_refused_at_start(index_dir, fake_encoder):
    with pytest.raises(ValueError, match="MAX_CONTENT_LENGTH"):
        create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder,
                    "MAX_CONTENT_LENGTH": "64k"})


def test_non_json_content_type_is_415(client):
    reply = client.post(ASK, data="question=hello", content_type="application/x-www-form-urlencoded")
    assert "application/json" in error_of(reply, 415, "unsupported_media_type")
    error_of(client.post(ASK, data='{"question": "hi"}', content_type="text/plain"),
             415, "unsupported_media_type")


def test_malformed_json_is_400(client):
    message = error_of(client.post(ASK, data='{"question": ', content_type="application/json"),
                       400, "bad_request")
    assert "JSON" in message


def test_body_that_is_not_an_object_is_400(client):
    assert "object" in error_of(ask_json(client, ["a question"]), 400, "bad_request")


@pytest.mark.parametrize("body, words", [
    ({"question": 42}, "'question'"),
    ({"question": "Hi", "k": "5"}, "'k'"),
    ({"question": "Hi", "k": True}, "'k'"),
    ({"question": "Hi", "history": "earlier"}, "'history'"),
    ({"question": "Hi", "history": [{"role": "user", "text": 3}]}, "history[0]"),
    ({"question": "Hi", "history": [{"role": "admin", "text": "x"}]}, "history[0].role"),
    ({"question": "Hi", "filters": ["source"]}, "'filters'"),
    ({"question": "Hi", "surprise": 1}, "surprise"),
])
def test_wrong_types_are_400_naming_the_field(client, body, words):
    assert words in error_of(ask_json(client, body), 400, "bad_request")


def test_empty_question_is_400(client):
    assert "empty" in error_of(ask_json(client, {"question": "   "}), 400, "bad_request")


def test_too_long_question_is_400(client):
    message = error_of(ask_json(client, {"question": "a" * (MAX_QUESTION + 1)}), 400, "bad_request")
    assert str(MAX_QUESTION) in message


def test_too_many_history_turns_is_400(client):
    history = [{"role": "user", "text": "hello"}] * (MAX_TURNS + 1)
    message = error_of(ask_json(client, {"question": "Hi", "history": history}), 400, "bad_request")
    assert str(MAX_TURNS) in message


def test_unknown_filter_is_400(client):
    message = error_of(ask_json(client, {"question": "Hi", "filters": {"author": "x"}}),
                       400, "bad_request")
    assert "author" in message and "date_from" in message


def test_bad_filter_date_is_400(client):
    message = error_of(ask_json(client, {"question": "Hi", "filters": {"date_from": "May 2023"}}),
                       400, "bad_request")
    assert "2023-05-11" in message


def test_admin_endpoints_are_closed_without_token(client):
    for method, path in [("post", "/api/documents"), ("delete", "/api/documents/small-doc"),
                         ("post", "/api/index/rebuild")]:
        reply = getattr(client, method)(path, headers={"Authorization": "Bearer guess"})
        assert "ACCORD_ADMIN_TOKEN" in error_of(reply, 401, "unauthorized")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_index_is_503(tmp_path, fake_encoder):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "ENCODER": fake_encoder})
    client = app.test_client()
    assert "accord build" in error_of(ask_json(client, {"question": "Hi"}), 503, "index_unavailable")
    error_of(client.get("/api/documents"), 503, "index_unavailable")
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable"
    assert health.get_json()["error"]["code"] == "index_unavailable"


def test_crash_is_500_with_request_id_and_no_traceback(app, client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/accord/bot.py line 12")

    monkeypatch.setattr(app.extensions["accord"].bot, "ask", explode)
    reply = ask_json(client, {"question": "Hi"})
    message = error_of(reply, 500, "internal")
    assert "request id" in message
    assert b"Traceback" not in reply.data and b"secret internals" not in reply.data


def error_requests(limit: int):
    """Every kind of request that must fail, as (description, method, path, kwargs, status)."""
    js = "application/json"
    return [
        ("unknown api path", "get", "/api/nope", {}, 404),
        ("unknown page", "get", "/nope.html", {}, 404),
        ("wrong method", "put", ASK, {}, 405),
        ("wrong method on a page", "post", "/", {}, 405),
        ("too large", "post", ASK, {"data": b"{" * (limit + 10), "content_type": js}, 413),
        ("form body", "post", ASK, {"data": "q=1", "content_type": "application/x-www-form-urlencoded"}, 415),
        ("no content type", "post", ASK, {"data": '{"question": "x"}'}, 415),
        ("bad json", "post", ASK, {"data": "{'question': 'x'}", "content_type": js}, 400),
        ("bad utf-8", "post", ASK, {"data": b'{"question": "\xff"}', "content_type": js}, 400),
        ("null body", "post", ASK, {"data": "null", "content_type": js}, 400),
        ("question not string", "post", ASK, {"json": {"question": ["x"]}}, 400),
        ("no question", "post", ASK, {"json": {"history": []}}, 400),
        ("empty question", "post", ASK, {"json": {"question": ""}}, 400),
        ("long question", "post", ASK, {"json": {"question": "q" * (MAX_QUESTION + 1)}}, 400),
        ("k too big", "post", ASK, {"json": {"question": "x", "k": 99}}, 400),
        ("too many turns", "post", ASK,
         {"json": {"question": "x", "history": [{"text": "a"}] * (MAX_TURNS + 1)}}, 400),
        ("long turn", "post", ASK, {"json": {"question": "x", "history": [{"text": "a" * 4001}]}}, 400),
        ("unknown filter", "post", ASK, {"json": {"question": "x", "filters": {"lang": "en"}}}, 400),
        ("admin add", "post", "/api/documents", {"json": {"documents": []}}, 401),
        ("admin delete", "delete", "/api/documents/x", {}, 401),
        ("admin rebuild", "post", "/api/index/rebuild", {}, 401),
    ]


def test_every_error_has_the_one_shape(app, client):
    seen = set()
    for name, method, path, kwargs, status in error_requests(app.config["MAX_CONTENT_LENGTH"]):
        reply = getattr(client, method)(path, **kwargs)
        assert reply.status_code == status, name
        assert reply.mimetype == "application/json", name
        body = reply.get_json()
        assert list(body) == ["error"], name
        assert body["error"]["code"] and body["error"]["message"], name
        assert b"<html" not in reply.data.lower() and b"Traceback" not in reply.data, name
        seen.add(status)
    assert seen == {400, 401, 404, 405, 413, 415}
