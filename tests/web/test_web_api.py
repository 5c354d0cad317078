"""The web API beyond /api/ask: documents, admin auth, CORS."""
from __future__ import annotations

import pytest

from bot import create_app

ALLOWED = "https://partner.example.org"
OTHER = "https://evil.example.net"


def test_documents_lists_indexed_documents_with_passage_counts(client):
    reply = client.get("/api/documents")
    assert reply.status_code == 200
    data = reply.get_json()
    assert data["count"] == 1
    doc = data["documents"][0]
    assert doc["doc_id"] == "small-doc"
    assert doc["title"] == "Hong Kong and Chongqing sign a memorandum"
    assert doc["source"] == "Test wire" and doc["date"] == "2023-05-11"
    assert doc["passages"] >= 2 and data["passages"] == doc["passages"]
    assert data["index_version"] == client.get("/api/health").get_json()["index_version"]


@pytest.mark.slow
def test_history_resolves_a_follow_up(real_app):
    client = real_app.test_client()
    first = "Where did Gong Zheng attend the Shanghai Global Promotion Conference?"
    reply = client.post("/api/ask", json={"question": "What did he say there?", "history": [
        {"role": "user", "text": first}, {"role": "bot", "text": "In Hong Kong [1]."}]}).get_json()
    assert reply["answered"] and "Gong Zheng" in reply["query"]


@pytest.fixture
def admin_app(corpus_dir, index_dir, fake_encoder):
    return create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                       "ENCODER": fake_encoder, "ADMIN_TOKEN": "s3cret-token"})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic czNjcmV0LXRva2Vu"},
                                     {"Authorization": "Bearer "}])
def test_admin_refuses_missing_or_wrong_token(admin_app, headers):
    reply = admin_app.test_client().post("/api/index/rebuild", headers=headers)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"
    assert "ACCORD_ADMIN_TOKEN" not in reply.get_json()["error"]["message"]


def test_admin_with_right_token_reaches_the_action(admin_app):
    client = admin_app.test_client()
    auth = {"Authorization": "Bearer s3cret-token"}
    rebuilt = client.post("/api/index/rebuild", headers=auth)
    assert rebuilt.status_code in (200, 202) and "error" not in rebuilt.get_json()
    removed = client.delete("/api/documents/no-such-doc", headers=auth)
    assert removed.status_code == 404 and removed.get_json()["error"]["code"] == "not_found"
    empty = client.post("/api/documents", headers=auth, json={"documents": []})
    assert empty.status_code == 400 and "at least one document" in empty.get_json()["error"]["message"]


def test_admin_token_from_environment(monkeypatch, corpus_dir, index_dir, fake_encoder):
    monkeypatch.setenv("ACCORD_ADMIN_TOKEN", "from-env")
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                      "ENCODER": fake_encoder})
    reply = app.test_client().post("/api/index/rebuild", headers={"Authorization": "Bearer from-env"})
    assert reply.status_code != 401


@pytest.fixture
def cors_client(index_dir, fake_encoder):
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder,
                      "ALLOWED_ORIGINS": f"{ALLOWED}, https://second.example.org"})
    return app.test_client()


def test_cors_allows_listed_origin(cors_client):
    reply = cors_client.post("/api/ask", json={"question": "HKEX?"}, headers={"Origin": ALLOWED})
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in reply.headers.get("Vary", "")


def test_cors_preflight_is_answered(cors_client):
    reply = cors_client.options("/api/ask", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    assert "content-type" in reply.headers["Access-Control-Allow-Headers"].lower()


def test_cors_headers_on_error_replies(cors_client):
    bad = cors_client.post("/api/ask", json={"question": ""}, headers={"Origin": ALLOWED})
    assert bad.status_code == 400
    assert bad.headers["Access-Control-Allow-Origin"] == ALLOWED
    missing = cors_client.get("/api/nowhere", headers={"Origin": ALLOWED})
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_cors_refuses_other_origins(cors_client):
    for reply in (cors_client.post("/api/ask", json={"question": "HKEX?"}, headers={"Origin": OTHER}),
                  cors_client.post("/api/ask", json={"question": ""}, headers={"Origin": OTHER}),
                  cors_client.get("/api/nowhere", headers={"Origin": OTHER}),
                  cors_client.options("/api/ask", headers={"Origin": OTHER,
                                                           "Access-Control-Request-Method": "POST"})):
        assert "Access-Control-Allow-Origin" not in reply.headers


def test_no_cors_headers_without_an_origin(cors_client):
    reply = cors_client.get("/api/health")
    assert not [h for h in reply.headers.keys() if h.lower().startswith("access-control-")]


def test_no_cross_origin_access_by_default(client):
    reply = client.post("/api/ask", json={"question": "HKEX?"}, headers={"Origin": ALLOWED})
    assert reply.status_code == 200
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_allowed_origins_from_environment(monkeypatch, index_dir, fake_encoder):
    monkeypatch.setenv("ACCORD_ALLOWED_ORIGINS", "http://a.example,http://b.example/")
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder})
    assert app.config["ALLOWED_ORIGINS"] == ["http://a.example", "http://b.example"]
    reply = app.test_client().get("/api/health", headers={"Origin": "http://b.example"})
    assert reply.headers["Access-Control-Allow-Origin"] == "http://b.example"
