"""Per-client rate limits: /api/ask, /api/feedback and the stricter admin limit; 429 replies in
the error shape with Retry-After; X-Forwarded-For trusted only behind configured proxies."""
from __future__ import annotations

import pytest

from bot import create_app

ASK = {"question": "What about the HKEX?"}
FEEDBACK = {"answer_id": "0" * 32, "rating": "up"}


def rate_limited(reply) -> int:
    """The Retry-After seconds of a proper 429 reply."""
    assert reply.status_code == 429, reply.data
    body = reply.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert "Try again in" in body["error"]["message"]
    wait = int(reply.headers["Retry-After"])
    assert 1 <= wait <= 61
    return wait


def test_default_is_60_a_minute_on_ask(app):
    assert app.config["RATE_LIMIT"] == "60/minute"


def test_ask_is_limited_per_client(make_app):
    client = make_app(RATE_LIMIT="3/minute").test_client()
    for _ in range(3):
        assert client.post("/api/ask", json=ASK).status_code == 200
    rate_limited(client.post("/api/ask", json=ASK))
    # Another address still has its allowance.
    other = client.post("/api/ask", json=ASK, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    # Other endpoints are not limited by the /api/ask limit.
    assert client.get("/api/health").status_code == 200


def test_invalid_requests_count_too(make_app):
    client = make_app(RATE_LIMIT="2/minute").test_client()
    for _ in range(2):
        assert client.post("/api/ask", json={"question": ""}).status_code == 400
    rate_limited(client.post("/api/ask", json=ASK))


def test_cors_preflight_is_not_counted(make_app):
    client = make_app(RATE_LIMIT="1/minute", ALLOWED_ORIGINS="https://site.example").test_client()
    preflight = {"Origin": "https://site.example", "Access-Control-Request-Method": "POST"}
    for _ in range(3):
        assert client.options("/api/ask", headers=preflight).status_code == 200
    assert client.post("/api/ask", json=ASK).status_code == 200
    reply = client.post("/api/ask", json=ASK, headers={"Origin": "https://site.example"})
    rate_limited(reply)
    # The widget on an allowed site can read the 429 too.
    assert reply.headers["Access-Control-Allow-Origin"] == "https://site.example"


def test_feedback_has_its_own_limit(make_app):
    client = make_app(FEEDBACK_RATE_LIMIT="2/minute", RATE_LIMIT="100/minute").test_client()
    feedback = {**FEEDBACK, "answer_id": client.post("/api/ask", json=ASK).get_json()["answer_id"]}
    for _ in range(2):
        assert client.post("/api/feedback", json=feedback).status_code == 200
    rate_limited(client.post("/api/feedback", json=feedback))
    assert client.post("/api/ask", json=ASK).status_code == 200


def test_admin_limit_is_stricter_and_counts_wrong_tokens(make_app):
    app = make_app(ADMIN_TOKEN="right-token")
    assert app.config["ADMIN_RATE_LIMIT"] == "10/minute"
    client = app.test_client()
    for _ in range(10):
        assert client.post("/api/index/rebuild",
                           headers={"Authorization": "Bearer guess"}).status_code == 401
    # Guessing used up the allowance: even the right token waits now.
    rate_limited(client.post("/api/index/rebuild",
                             headers={"Authorization": "Bearer right-token"}))
    rate_limited(client.delete("/api/documents/x"))
    assert client.post("/api/ask", json=ASK).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    client = make_app(RATE_LIMIT="1/minute").test_client()
    assert client.post("/api/ask", json=ASK, headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    # A client cannot get a fresh allowance by inventing addresses.
    rate_limited(client.post("/api/ask", json=ASK, headers={"X-Forwarded-For": "2.2.2.2"}))


def test_forwarded_for_is_the_client_behind_a_trusted_proxy(make_app):
    client = make_app(RATE_LIMIT="1/minute", TRUSTED_PROXIES=1).test_client()
    assert client.post("/api/ask", json=ASK, headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    assert client.post("/api/ask", json=ASK, headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 200
    rate_limited(client.post("/api/ask", json=ASK, headers={"X-Forwarded-For": "1.1.1.1"}))
    # Only the address the trusted proxy appended counts, not what the client put before it.
    rate_limited(client.post("/api/ask", json=ASK,
                             headers={"X-Forwarded-For": "9.9.9.9, 1.1.1.1"}))


def test_limits_from_the_environment(monkeypatch, make_app):
    monkeypatch.setenv("ACCORD_RATE_LIMIT", "2 per minute")
    client = make_app().test_client()
    assert client.post("/api/ask", json=ASK).status_code == 200
    assert client.post("/api/ask", json=ASK).status_code == 200
    rate_limited(client.post("/api/ask", json=ASK))


@pytest.mark.parametrize("key", ["RATE_LIMIT", "FEEDBACK_RATE_LIMIT", "ADMIN_RATE_LIMIT"])
def test_a_limit_that_does_not_parse_stops_the_start(make_app, key):
    with pytest.raises(ValueError, match=f"ACCORD_{key}.*60/minute"):
        make_app(**{key: "sixty a minute"})


def test_an_unknown_storage_stops_the_start(make_app):
    from bot.errors import AccordError
    with pytest.raises(AccordError, match="ACCORD_RATE_LIMIT_STORAGE"):
        make_app(RATE_LIMIT_STORAGE="carrier-pigeon://coop")


def test_an_unreachable_redis_stops_the_start(make_app):
    from bot.errors import AccordError
    from tests.servers import free_port
    with pytest.raises(AccordError, match="cannot be reached"):
        make_app(RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}/0")


def test_limit_stays_per_app(tmp_path, index_dir, fake_encoder):
    """Two apps in one process (as in tests) keep separate in-memory counts."""
    config = {"TESTING": True, "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder,
              "RATE_LIMIT": "1/minute", "FEEDBACK_DB": str(tmp_path / "f.sqlite3")}
    one, two = create_app(config).test_client(), create_app(config).test_client()
    assert one.post("/api/ask", json=ASK).status_code == 200
    assert two.post("/api/ask", json=ASK).status_code == 200
    rate_limited(one.post("/api/ask", json=ASK))


def test_memory_storage_is_safe_with_many_threads(monkeypatch):
    """Request threads hitting the in-memory limits at once start its expiry timer once
    (limits 5.8.0's own MemoryStorage fails this: it starts one timer twice, and the second
    start logs a traceback)."""
    import sys
    import threading

    from limits import parse
    from limits.strategies import MovingWindowRateLimiter

    from bot.web.memory_storage import LockedMemoryStorage

    failures = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: failures.append(u.exc_value))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)   # switch threads often, so the race shows if it is there
    storage = LockedMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    limit = parse("1000000/minute")
    clients, rounds = 16, 200
    barrier = threading.Barrier(clients)

    def hammer(i: int) -> None:
        for _ in range(rounds):
            if barrier.wait() == 0:
                storage.timer.join()   # expired: every thread of the round schedules it anew
            barrier.wait()
            try:
                limiter.hit(limit, f"client-{i % 4}")
            except Exception as exc:   # "threads can only be started once"
                failures.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(clients)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        storage.timer.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []


def test_wrong_metrics_tokens_are_limited_but_scrapes_are_not(make_app):
    client = make_app(METRICS_TOKEN="scrape", ADMIN_RATE_LIMIT="3/minute").test_client()
    good = {"Authorization": "Bearer scrape"}
    for _ in range(10):
        assert client.get("/metrics", headers=good).status_code == 200
    for _ in range(3):
        assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    rate_limited(client.get("/metrics", headers={"Authorization": "Bearer guess"}))
    rate_limited(client.get("/metrics"))
    # The scraper at the same address still gets through.
    assert client.get("/metrics", headers=good).status_code == 200


def test_memory_storage_starts_one_sweeper_not_a_thread_per_request(monkeypatch):
    """A server answering one question at a time must not start a thread per request
    (limits' own storage starts a 10 ms timer on nearly every hit); expired keys are still
    reclaimed by the one sweeper."""
    import threading
    import time

    from limits import parse
    from limits.strategies import MovingWindowRateLimiter

    from bot.web import memory_storage

    monkeypatch.setattr(memory_storage, "SWEEP_SECONDS", 0.05)
    storage = memory_storage.LockedMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    starts = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (starts.append(self.name), real_start(self))[1])
    for i in range(30):
        limiter.hit(parse("1000/second"), f"client-{i}")
        time.sleep(0.015)   # longer than limits' 10 ms timer: each hit would start a new one
    assert len(starts) <= 1, starts
    deadline = time.monotonic() + 5
    while any(storage.events.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(storage.events.values()), "expired rate-limit windows were never reclaimed"


def test_exempt_local_clients_are_not_counted_unless_a_proxy_forwarded_them(make_app):
    client = make_app(RATE_LIMIT="2/minute", RATE_LIMIT_EXEMPT="127.0.0.1, ::1").test_client()
    for _ in range(5):   # a program on this machine asking many questions
        assert client.post("/api/ask", json=ASK).status_code == 200
    # A proxy on this machine forwarding someone: limited as before.
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(2):
        assert client.post("/api/ask", json=ASK, headers=forwarded).status_code == 200
    rate_limited(client.post("/api/ask", json=ASK, headers=forwarded))
    # A client from elsewhere is limited.
    away = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(2):
        assert client.post("/api/ask", json=ASK, environ_base=away).status_code == 200
    rate_limited(client.post("/api/ask", json=ASK, environ_base=away))
    # The admin limit exempts no one.
    admin = make_app(ADMIN_TOKEN="right-token", ADMIN_RATE_LIMIT="1/minute",
                     RATE_LIMIT_EXEMPT="127.0.0.1").test_client()
    guess = {"Authorization": "Bearer guess"}
    assert admin.post("/api/index/rebuild", headers=guess).status_code == 401
    rate_limited(admin.post("/api/index/rebuild", headers=guess))


def test_a_bad_exempt_address_is_named_at_start(make_app):
    with pytest.raises(Exception, match="ACCORD_RATE_LIMIT_EXEMPT: 'localhost'"):
        make_app(RATE_LIMIT_EXEMPT="127.0.0.1,localhost")
