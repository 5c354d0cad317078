"""Rate limits shared through a real redis-server (Debian's), as several servers would share them."""
from __future__ import annotations

import os
import shutil

import pytest

from ..servers import RedisServer

ASK = {"question": "What about the HKEX?"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: apt-get install redis-server", pytrace=False)
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def test_two_servers_share_one_allowance(make_app, redis_server):
    # Two apps stand for two servers (or two gunicorn workers) behind one load balancer.
    config = {"RATE_LIMIT": "3/minute", "RATE_LIMIT_STORAGE": redis_server.url}
    one, two = make_app(**config).test_client(), make_app(**config).test_client()
    client = {"REMOTE_ADDR": "192.0.2.10"}
    assert one.post("/api/ask", json=ASK, environ_base=client).status_code == 200
    assert two.post("/api/ask", json=ASK, environ_base=client).status_code == 200
    assert one.post("/api/ask", json=ASK, environ_base=client).status_code == 200
    reply = two.post("/api/ask", json=ASK, environ_base=client)
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(reply.headers["Retry-After"]) <= 61
    # Another client's allowance is its own.
    assert two.post("/api/ask", json=ASK, environ_base={"REMOTE_ADDR": "192.0.2.11"}).status_code == 200


def test_admin_limit_is_shared_too(make_app, redis_server):
    config = {"ADMIN_RATE_LIMIT": "2/minute", "RATE_LIMIT_STORAGE": redis_server.url}
    one, two = make_app(**config).test_client(), make_app(**config).test_client()
    client = {"REMOTE_ADDR": "192.0.2.20"}
    assert one.post("/api/index/rebuild", environ_base=client).status_code == 401
    assert two.delete("/api/documents/x", environ_base=client).status_code == 401
    assert one.post("/api/index/rebuild", environ_base=client).status_code == 429


def test_a_redis_outage_while_serving_is_no_server_error(make_app, tmp_path_factory):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis-outage"))
    try:
        client = make_app(RATE_LIMIT="2/minute", RATE_LIMIT_STORAGE=server.url).test_client()
        assert client.post("/api/ask", json=ASK).status_code == 200
    finally:
        server.stop()
    # Storage gone: limits fall back to this process's memory, and answers go on.
    assert client.post("/api/ask", json=ASK).status_code == 200
    assert client.post("/api/ask", json=ASK).status_code == 200
    assert client.post("/api/ask", json=ASK).status_code == 429
