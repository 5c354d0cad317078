"""The minimal API: /api/ask and /api/health over a fake-encoder index."""


def test_ask_returns_contract_shape(client):
    reply = client.post("/api/ask", json={"question": "What about the HKEX and the Share Transfer Center?"})
    assert reply.status_code == 200
    data = reply.get_json()
    assert set(data) >= {"answered", "answer", "citations", "query", "took_ms"}
    assert data["answered"] is True       # the words of the small corpus's first passage
    cit = data["citations"][0]
    assert cit["n"] == 1 and cit["passage_id"].startswith("small-doc#")
    a, b = cit["highlights"][0]
    assert 0 <= a < b <= len(cit["text"])


def test_health_reports_index(client):
    data = client.get("/api/health").get_json()
    assert data["status"] == "ok" and data["documents"] == 1 and data["passages"] >= 2
    assert data["index_version"]
