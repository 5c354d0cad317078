"""/openapi.json is a valid OpenAPI 3 document, and the real replies match what it describes."""
from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from bot import create_app

JSON = "application/json"


@pytest.fixture
def spec(client):
    reply = client.get("/openapi.json")
    assert reply.status_code == 200 and reply.mimetype == JSON
    return reply.get_json()


def reply_schema(spec, path: str, method: str, status: int) -> dict:
    responses = spec["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not describe status {status}"
    return responses[str(status)]["content"][JSON]["schema"]


def check(spec, path: str, method: str, reply, status: int) -> dict:
    """Validate a reply against its schema; refs resolve against the whole document."""
    assert reply.status_code == status, reply.data
    schema = dict(reply_schema(spec, path, method, status), components=spec["components"])
    body = reply.get_json()
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_route_is_described(app, spec):
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)   # Flask's <x> is OpenAPI's {x}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in described, f"{method} {path} is not in /openapi.json"


def test_ask_request_schema_matches_the_validation(spec):
    request = dict(spec["components"]["schemas"]["AskRequest"], components=spec["components"])
    validator = jsonschema.Draft202012Validator(request)
    validator.validate({"question": "Hi", "history": [{"role": "bot", "text": "x"}], "k": 3,
                        "filters": {"source": "Test wire", "date_from": "2023-01-01"}})
    for bad in ({}, {"question": 1}, {"question": "Hi", "k": 0}, {"question": "Hi", "extra": 1},
                {"question": "Hi", "filters": {"lang": "en"}}):
        assert not validator.is_valid(bad), bad


def test_real_replies_match_their_schemas(client, spec):
    answered = check(spec, "/api/ask", "post",
                     client.post("/api/ask", json={"question": "What about the HKEX and the Share "
                                                                "Transfer Center?"}), 200)
    assert answered["answered"] and answered["citations"]
    unanswered = check(spec, "/api/ask", "post",
                       client.post("/api/ask", json={"question": "zebra quantum violin"}), 200)
    assert not unanswered["answered"] and unanswered["citations"] == []
    check(spec, "/api/ask", "post", client.post("/api/ask", json={"question": ""}), 400)
    check(spec, "/api/ask", "post", client.post("/api/ask", data="x", content_type="text/plain"), 415)
    check(spec, "/api/ask", "post",
          client.post("/api/ask", data="x" * 70000, content_type=JSON), 413)
    check(spec, "/api/health", "get", client.get("/api/health"), 200)
    check(spec, "/api/documents", "get", client.get("/api/documents"), 200)
    check(spec, "/api/documents", "post", client.post("/api/documents", json={}), 401)
    check(spec, "/api/documents/{doc_id}", "delete", client.delete("/api/documents/small-doc"), 401)
    check(spec, "/api/index/rebuild", "post", client.post("/api/index/rebuild"), 401)


def test_every_reply_field_is_documented(client, spec):
    """A field the API sends but the document does not name is drift; describe it in openapi.py."""
    reply = client.post("/api/ask", json={"question": "HKEX and the Share Transfer Center?"})
    body = reply.get_json()
    schemas = spec["components"]["schemas"]
    assert set(body) <= set(schemas["AskReply"]["properties"])
    for citation in body["citations"]:
        assert set(citation) <= set(schemas["Citation"]["properties"])
    assert set(client.get("/api/health").get_json()) <= set(schemas["Health"]["properties"])
    documents = client.get("/api/documents").get_json()
    assert set(documents) <= set(schemas["DocumentList"]["properties"])
    assert set(documents["documents"][0]) <= set(schemas["Document"]["properties"])


def test_unavailable_replies_match_their_schemas(tmp_path, fake_encoder, spec):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "ENCODER": fake_encoder})
    client = app.test_client()
    check(spec, "/api/health", "get", client.get("/api/health"), 503)
    check(spec, "/api/documents", "get", client.get("/api/documents"), 503)
    check(spec, "/api/ask", "post", client.post("/api/ask", json={"question": "Hi"}), 503)


def test_admin_replies_with_token_match_their_schemas(corpus_dir, index_dir, fake_encoder, spec):
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                      "ENCODER": fake_encoder, "ADMIN_TOKEN": "t"})
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    for path, method, reply in (
            ("/api/index/rebuild", "post", client.post("/api/index/rebuild", headers=auth)),
            ("/api/documents/{doc_id}", "delete", client.delete("/api/documents/x", headers=auth))):
        check(spec, path, method, reply, reply.status_code)


def test_page_and_widget_are_described_with_their_types(client, spec):
    assert "text/html" in spec["paths"]["/"]["get"]["responses"]["200"]["content"]
    assert client.get("/").mimetype == "text/html"
    assert "application/javascript" in spec["paths"]["/widget.js"]["get"]["responses"]["200"]["content"]
    assert client.get("/widget.js").mimetype == "application/javascript"


def test_the_documented_bodies_are_the_models(spec):
    """Requests are checked with the models of contract.py, and the document's schemas are
    generated from the same models: the two cannot drift apart."""
    from bot.web import contract

    schemas = spec["components"]["schemas"]
    for model in (contract.AskRequest, contract.FeedbackRequest, contract.AskReply,
                  contract.FeedbackReply, contract.ChatConfig, contract.Health,
                  contract.DocumentList, contract.Error, contract.Turn, contract.Filters,
                  contract.Citation, contract.IndexUpdate, contract.JobAccepted, contract.Job):
        assert schemas[model.__name__] == contract.schema_of(model), model.__name__
    for path, name, reply in (("/api/ask", "AskRequest", "AskReply"),
                              ("/api/feedback", "FeedbackRequest", "FeedbackReply")):
        operation = spec["paths"][path]["post"]
        assert operation["requestBody"]["content"][JSON]["schema"] == {
            "$ref": f"#/components/schemas/{name}"}
        assert reply_schema(spec, path, "post", 200) == {"$ref": f"#/components/schemas/{reply}"}
    ask = schemas["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == contract.MAX_QUESTION
    assert ask["k"]["maximum"] == contract.MAX_K
    assert set(schemas["Filters"]["properties"]) == set(contract.FILTER_KEYS)


def test_what_the_document_refuses_the_server_refuses(client, spec):
    request = dict(spec["components"]["schemas"]["FeedbackRequest"], components=spec["components"])
    validator = jsonschema.Draft202012Validator(request)
    for bad in ({"rating": "up"}, {"answer_id": "a" * 32, "rating": "meh"},
                {"answer_id": "a" * 32, "rating": "up", "comment": "x" * 1001},
                {"answer_id": "a" * 32, "rating": "up", "passage_ids": ["x"] * 21}):
        assert not validator.is_valid(bad), bad
        assert client.post("/api/feedback", json=bad).status_code == 400, bad
