"""Costly inputs: a request's work and its query are bounded whatever the history holds, and
the caches on the request path are bounded in bytes (worker memory stays flat)."""
import random
import statistics
import time

import psutil
import pytest

from bot.cache import BytesLRU
from bot.qa.followup import CONTEXT_TURNS, MAX_CARRIED_CHARS, resolve
from bot.service import KEY
from bot.corpus.variants import MAX_ADDED_CHARS
from bot.text import words
from bot.text.normalize import normalize_text
from bot.web.contract import MAX_QUESTION, MAX_TURN_CHARS

QUERY_BOUND = MAX_QUESTION + MAX_CARRIED_CHARS + 3 + MAX_ADDED_CHARS


@pytest.fixture
def client(make_app):
    return make_app(RATE_LIMIT="100000/minute").test_client()


# Random bytes read as letters and spaces (str.translate, fast): distinct texts every time.
WORDS = bytes.maketrans(bytes(range(256)), (b"abcdefghijklmnopqrstuvwxyz     " * 9)[:256])
SHORT_WORDS = bytes.maketrans(bytes(range(256)), (b"abcdefghijklm  " * 18)[:256])


def _text(rng, chars, capital=False, table=WORDS):
    text = " ".join(rng.randbytes(chars).translate(table).decode().split())
    return text.title() if capital else text


def _capitalised_history(rng, turns=50, chars=1200):
    # ~250 capitalised words a turn, as close to the 64 KB body limit as 50 turns allow.
    return [{"role": "user", "text": "What about " + _text(rng, chars, True, SHORT_WORDS)
             + " and it?"} for _ in range(turns)]


def _ms(client, body) -> float:
    started = time.perf_counter()
    reply = client.post("/api/ask", json=body)
    assert reply.status_code == 200, reply.get_data()[:200]
    return (time.perf_counter() - started) * 1000


def test_a_long_history_costs_about_what_a_long_question_costs(client):
    rng = random.Random(1)
    client.post("/api/ask", json={"question": "warm up"})
    long_q, history = [], []
    for _ in range(5):   # interleaved, distinct each time (nothing comes from a cache)
        long_q.append(_ms(client, {"question": _text(rng, MAX_QUESTION)}))
        history.append(_ms(client, {"question": "What did they say about it?",
                                    "history": _capitalised_history(rng)}))
    # Before the bound: 9.3 s against ~10 ms, three orders of magnitude.
    assert statistics.median(history) < 3 * statistics.median(long_q) + 20, (history, long_q)


def test_the_resolved_query_is_bounded_and_names_each_thing_once(client):
    rng = random.Random(2)
    history = _capitalised_history(rng, turns=40, chars=1500)
    reply = client.post("/api/ask", json={"question": "What did they say about it?",
                                          "history": history})
    assert len(reply.get_json()["query"]) <= QUERY_BOUND
    names = ["Gong Zheng", "Paul Chan", "HKEX", "Chongqing", "youth", "finance"]
    turn = "Did " + ", ".join(names * 12) + " meet there?"
    query = client.post("/api/ask", json={"question": "What did they sign?", "history": [
        {"role": "user", "text": turn}] * 5}).get_json()["query"]
    carried = query[query.index("(") + 1:-1].split(", ")
    assert len(query) <= QUERY_BOUND and len(carried) == len({c.lower() for c in carried})
    assert {"Gong Zheng", "Paul Chan", "HKEX"} <= set(carried)


def test_only_the_latest_turns_are_read():
    history = ["Who is Zorblax Quux?"] + ["And what about it?"] * 49
    assert "Zorblax" not in resolve("What did they say there?", history)
    # A chain of follow-ups within the latest turns still reaches the turn they refer to.
    near = ["Who is Zorblax Quux?"] + ["And what about it?"] * (CONTEXT_TURNS - 1)
    assert "Zorblax Quux" in resolve("What did they say there?", near)


def test_nfkc_expansion_cannot_lengthen_what_is_searched(client):
    # U+FDFA is one character sent and 18 after NFKC: the limits hold after normalising.
    reply = client.post("/api/ask", json={"question": "\ufdfa" * MAX_QUESTION}).get_json()
    assert len(reply["query"]) <= MAX_QUESTION
    turns = [{"role": "user", "text": "\ufdfa" * (MAX_TURN_CHARS // 2)}] * 4
    reply = client.post("/api/ask", json={"question": "What did they say about it?",
                                          "history": turns})
    assert reply.status_code == 200 and len(reply.get_json()["query"]) <= QUERY_BOUND
    text = "ab\u200b \ufdfa\n\ufdfa  cd" * 500
    for limit in (1, 7, 100, 1000):
        assert normalize_text(text, limit=limit) == normalize_text(text)[:limit]
        assert normalize_text(text, True, limit) == normalize_text(text, True)[:limit]


def _maximal_request(rng):
    # The longest question and as much history (10 turns are read) as the body limit allows.
    return {"question": _text(rng, MAX_QUESTION),
            "history": [{"role": "user" if i % 2 == 0 else "bot",
                         "text": _text(rng, MAX_TURN_CHARS, capital=i % 3 == 0)}
                        for i in range(12)]}


def test_distinct_maximal_requests_leave_worker_memory_flat(client):
    rng = random.Random(3)
    process = psutil.Process()
    for _ in range(30):   # imports, first allocations: the worker's start
        client.post("/api/ask", json=_maximal_request(rng))
    start = process.memory_info().rss
    for _ in range(2000):
        assert client.post("/api/ask", json=_maximal_request(rng)).status_code == 200
    rss = process.memory_info().rss
    caches = {"tokens": words._tokens.cache, "folded": words.fold_key.cache,
              "query vectors": client.application.extensions[KEY].bot._cache}
    for name, cache in caches.items():
        assert cache.bytes <= cache.max_bytes, name
    assert rss <= start * 1.10, f"RSS {start / 2**20:.0f} MB -> {rss / 2**20:.0f} MB"


def test_caches_count_bytes_not_entries():
    cache = BytesLRU(1_000_000)
    for i in range(1000):   # 1000 keys of 10 KB: 10 MB by count, held to 1 MB by size
        cache.get(f"{i} " + "x" * 10_000, lambda: i)
    assert cache.bytes <= cache.max_bytes and 50 <= len(cache) < 100
    cache.get("y" * 200_000, lambda: 0)   # over a tenth of the budget: computed, not kept
    assert ("y" * 200_000) not in cache._data
    rng = random.Random(4)
    for _ in range(300):
        words.tokenize([_text(rng, 20_000)])
    assert words._tokens.cache.bytes <= words._tokens.cache.max_bytes
