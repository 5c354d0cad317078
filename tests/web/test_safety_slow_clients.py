"""Slow clients cannot take `accord serve` down, and what its HTTP layer refuses is the JSON error
shape with the security headers: a real `accord serve` (the real model) on 127.0.0.1.

The attack here is bounded for CI (64 connections of each kind for 15 s); the full run is
`python -m tests.slow_clients --connections 256 --seconds 60`."""
from __future__ import annotations

import json
import os
import socket
import time

import pytest

from ..servers import HOST, AccordServe, child_env
from ..slow_clients import BOUND, problems, serve_and_attack

pytestmark = pytest.mark.slow
CONNECTIONS = int(os.environ.get("ACCORD_SLOW_CONNECTIONS", "64"))
SECONDS = float(os.environ.get("ACCORD_SLOW_SECONDS", "15"))


def test_slow_clients_do_not_starve_answers_and_are_cut_off(serving_index, tmp_path):
    figures = serve_and_attack(serving_index, CONNECTIONS, SECONDS, workers=2,
                               log=tmp_path / "server.log")
    print("\nslow clients:", json.dumps(figures))
    assert figures["server_alive"]
    found = problems(figures, BOUND)
    assert not found, f"{found}; figures: {figures}"


@pytest.fixture(scope="module")
def server(serving_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    env = child_env(ACCORD_FEEDBACK_DB=str(folder / "f.sqlite3"))
    server = AccordServe(env, serving_index, workers=1, log=folder / "server.log")
    server.wait_ready()
    yield server
    server.stop()


def raw(port: int, data: bytes) -> bytes:
    """Everything the server sends back to `data` until it closes the connection."""
    with socket.create_connection((HOST, port), timeout=15) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


HOST_LINE = b"Host: 127.0.0.1\r\n"
ASK = b"POST /api/ask HTTP/1.1\r\n" + HOST_LINE + b"Content-Type: application/json\r\n"
REFUSED = [
    ("garbage", b"GARBAGE\r\n\r\n", 400),
    ("unknown version", b"GET / HTTP/7.0\r\n" + HOST_LINE + b"\r\n", 400),
    ("control character", b"GET /\x00 HTTP/1.1\r\n" + HOST_LINE + b"\r\n", 400),
    ("header without colon", b"GET / HTTP/1.1\r\n" + HOST_LINE + b"No colon\r\n\r\n", 400),
    ("long request line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST_LINE + b"\r\n", 414),
    ("many header fields", b"GET / HTTP/1.1\r\n" + HOST_LINE
     + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n", 431),
    ("long header line", b"GET / HTTP/1.1\r\n" + HOST_LINE + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
     431),
    ("unknown transfer coding", ASK + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    ("two framings", ASK + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    ("bad content length", ASK + b"Content-Length: 12abc\r\n\r\n", 400),
    ("huge content length", ASK + b"Content-Length: 99999999999\r\n\r\n", 413),
    ("bad chunk", ASK + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
]


@pytest.mark.parametrize("name,request_bytes,status", REFUSED, ids=[r[0] for r in REFUSED])
def test_what_the_http_layer_refuses_is_json_with_the_security_headers(server, name,
                                                                        request_bytes, status):
    reply = raw(server.port, request_bytes)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), reply[:300]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert headers["server"] == "accord"
    assert int(headers["content-length"]) == len(body)


def test_headers_past_the_buffer_are_never_answered_with_html(server):
    reply = raw(server.port, b"GET / HTTP/1.1\r\n" + HOST_LINE
                + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 8000) for i in range(12)) + b"\r\n")
    assert b"<html" not in reply.lower()
    assert reply == b"" or b"application/json" in reply


def test_a_chunked_body_and_a_head_request_are_served(server):
    body = b'{"question": "HKEX?"}'
    reply = raw(server.port, ASK + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ") and b'"answered"' in reply
    reply = raw(server.port, b"HEAD /api/health HTTP/1.1\r\n" + HOST_LINE
                + b"Connection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"\r\n\r\n")


def test_connections_past_the_limit_are_refused_with_json_then_served_again(serving_index, tmp_path):
    env = child_env(ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"),
                    GUNICORN_CMD_ARGS="--worker-connections 20")
    server = AccordServe(env, serving_index, workers=1, log=tmp_path / "server.log")
    try:
        server.wait_ready()
        idle = [socket.create_connection((HOST, server.port), timeout=15) for _ in range(20)]
        try:
            reply = raw(server.port, b"GET /api/health HTTP/1.1\r\n" + HOST_LINE + b"\r\n")
            assert reply.startswith(b"HTTP/1.1 503 "), reply[:200]
            assert json.loads(reply.partition(b"\r\n\r\n")[2])["error"]["code"] == "unavailable"
            # The idle connections are cut at the header deadline; then there is room again.
            assert all(sock.recv(1) == b"" for sock in idle)
        finally:
            for sock in idle:
                sock.close()
        reply = raw(server.port, b"GET /api/health HTTP/1.1\r\n" + HOST_LINE
                    + b"Connection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 ")
    finally:
        server.stop()


def test_a_question_body_over_its_limit_is_refused_before_it_is_read(server):
    """The server holds no more of a body in memory than its endpoint accepts: a question
    declared at 1 MB (under the 8 MiB of uploads) is refused from its headers, not read."""
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=15) as sock:
        sock.sendall(ASK + b"Content-Length: 1000000\r\n\r\n" + b"x" * 1000)
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert b"65536" in reply
    assert time.monotonic() - started < 3   # not after the 10 s body deadline
