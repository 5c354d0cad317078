"""Deeply nested JSON is refused with a 400 in the error shape on every JSON endpoint, not a 500."""
import pytest

ADMIN = {"Authorization": "Bearer adm1n"}
# Far past the recursion limit (1,000), and each body under the 64 KB body limit.
BODIES = {
    "arrays": "[" * 60_000,
    "objects": '{"a":' * 12_000,
    "inside a valid field": '{"question": ' + "[" * 25_000 + "]" * 25_000 + "}",
    "closed": "[" * 30_000 + "]" * 30_000,
}
ENDPOINTS = [("/api/ask", {}), ("/api/feedback", {}), ("/api/documents", ADMIN),
             ("/api/index/rebuild", ADMIN)]


@pytest.fixture
def client(make_app):
    return make_app(ADMIN_TOKEN="adm1n", RATE_LIMIT="1000/minute",
                    FEEDBACK_RATE_LIMIT="1000/minute", ADMIN_RATE_LIMIT="1000/minute").test_client()


@pytest.mark.parametrize("path,headers", ENDPOINTS, ids=[p for p, _ in ENDPOINTS])
@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(client, path, headers, body):
    reply = client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.get_data()[:300]
    error = reply.get_json()["error"]
    assert error["code"] == "bad_request" and "nested too deeply" in error["message"]


def test_ordinary_nesting_still_parses(client):
    body = {"question": "Who met?", "filters": {"source": "Test wire"}}
    reply = client.post("/api/ask", json=body)
    assert reply.status_code == 200
