"""Slow clients against `accord serve` on 127.0.0.1: connections that send one byte and wait, trickle
headers, or trickle a body, while one well-behaved client asks questions.

    python -m tests.slow_clients --connections 256 --seconds 60     # the full run (real model)
    python -m tests.slow_clients --connections 64 --seconds 15 --index index

It passes when the well-behaved client got every answer, its p50 under attack is within 2x of its
p50 before the attack, and the server closed every attacking connection within --bound seconds of
its opening. Attackers reconnect as soon as they are cut off, so the server faces --connections of
each kind for the whole attack. Traffic goes only to 127.0.0.1 and stops at the deadline."""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.web.worker import BODY_TIMEOUT, HEADER_TIMEOUT

from .servers import HOST, AccordServe, child_env

KINDS = ("byte", "headers", "body")
TRICKLE_EVERY = 1.0        # seconds between two bytes of a trickling attacker
ASK_TIMEOUT = 10.0         # a well-behaved request slower than this has failed
QUIET_SECONDS = 6.0
RAMP_SECONDS = 2.0         # attackers connect before the measured part of the attack starts
MAX_P50_RATIO = 2.0
# A body attacker sends its headers at once: it is cut when the body deadline passes.
BOUND = max(HEADER_TIMEOUT, BODY_TIMEOUT) + 2.0
QUESTIONS = ["What is Hong Kong's rank among Chongqing's trading partners?",
             "What does the Golden Phoenix Laboratory focus on?",
             "What did Gong Zheng say Shanghai is building?",
             "Which exchanges will Hong Kong and Chongqing strengthen?"]


# The attack: asyncio in a process of its own, so that 3 x N connections cost the client's
# measurements nothing.

def _head(path: str = "/api/ask", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"{extra}").encode()


async def _trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    for i in range(len(data)):
        writer.write(data[i:i + 1])
        await writer.drain()
        await asyncio.sleep(TRICKLE_EVERY)
    await asyncio.Future()   # then wait, holding the connection, until cut off or the deadline


async def _one_connection(kind: str, port: int, stop_at: float) -> tuple[str, float] | None:
    """('closed', seconds it lived) when the server cut it, ('open', age) at the deadline."""
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        await asyncio.sleep(0.05)
        return None
    opened = time.monotonic()
    if kind == "byte":
        sender = asyncio.ensure_future(_trickle(writer, b"P"))
    elif kind == "headers":
        writer.write(_head())
        sender = asyncio.ensure_future(_trickle(writer, b"X-Slow: " + b"a" * 4000))
    else:
        writer.write(_head(extra="Content-Length: 60000\r\n\r\n") + b'{"question": "')
        sender = asyncio.ensure_future(_trickle(writer, b"a" * 60000))
    closed = asyncio.ensure_future(_until_closed(reader))
    try:
        await asyncio.wait({sender, closed}, timeout=max(0.0, stop_at - opened),
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        sender.cancel()
        gone = closed.done()
        closed.cancel()
        writer.close()
    age = time.monotonic() - opened
    if gone:
        return "closed", age
    # A send that fails means the server is gone for this connection too.
    if sender.done() and not sender.cancelled() and sender.exception() is not None:
        return "closed", age
    return "open", age


async def _until_closed(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(65536):
            pass   # a reply (a 408 or 400, say) then the close
    except OSError:
        pass


async def _attacker(kind: str, port: int, stop_at: float, out: dict) -> None:
    while time.monotonic() < stop_at:
        result = await _one_connection(kind, port, stop_at)
        if result is None:
            out["refused"] += 1
            continue
        state, age = result
        if state == "closed":
            out["closed"] += 1
            out["lifetimes"].append(age)
        else:
            out["open_at_end"] += 1
            out["oldest_open"] = max(out["oldest_open"], age)


async def _attack(port: int, connections: int, seconds: float) -> dict:
    stop_at = time.monotonic() + seconds
    results = {k: {"closed": 0, "lifetimes": [], "open_at_end": 0, "oldest_open": 0.0,
                   "refused": 0} for k in KINDS}
    tasks = []
    for i in range(connections):
        for kind in KINDS:
            tasks.append(asyncio.ensure_future(_attacker(kind, port, stop_at, results[kind])))
        if i % 16 == 15:
            await asyncio.sleep(0.01)   # a ramp, not one burst of SYNs over the backlog
    await asyncio.gather(*tasks)
    return results


def _attack_process(port: int, connections: int, seconds: float, queue) -> None:
    results = asyncio.run(_attack(port, connections, seconds))
    summary = {}
    for kind, r in results.items():
        lifetimes = sorted(r["lifetimes"])
        summary[kind] = {
            "connections": r["closed"] + r["open_at_end"], "cut_by_server": r["closed"],
            "refused": r["refused"],
            "lifetime_p50_s": round(statistics.median(lifetimes), 2) if lifetimes else None,
            "lifetime_max_s": round(lifetimes[-1], 2) if lifetimes else None,
            "open_at_end": r["open_at_end"], "oldest_open_s": round(r["oldest_open"], 2),
        }
    queue.put(summary)


# The well-behaved client: one question at a time, each on a new connection, as a browser that
# has just arrived would.

def ask(port: int, question: str) -> tuple[bool, float, str]:
    body = json.dumps({"question": question}).encode()
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=ASK_TIMEOUT)
    try:
        conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        ok = reply.status == 200 and "answered" in json.loads(data)
        return ok, time.perf_counter() - started, "" if ok else f"{reply.status} {data[:200]!r}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def ask_for(port: int, seconds: float, offset: int = 0) -> tuple[list[float], list[str]]:
    latencies, failures = [], []
    deadline = time.monotonic() + seconds
    i = offset
    while time.monotonic() < deadline:
        # Distinct texts, so that each question is encoded, not found in the query cache.
        ok, took, why = ask(port, f"{QUESTIONS[i % len(QUESTIONS)]} ({i})")
        latencies.append(took)
        if not ok:
            failures.append(why)
        i += 1
    return latencies, failures


def run(port: int, connections: int, seconds: float) -> dict:
    """Quiet p50, then the attack for `seconds` with the well-behaved client asking throughout."""
    ask_for(port, 1.0)                       # warm-up: every worker has answered once
    quiet, quiet_failures = ask_for(port, QUIET_SECONDS)
    queue = multiprocessing.get_context("spawn").Queue()
    attack = multiprocessing.get_context("spawn").Process(
        target=_attack_process, args=(port, connections, seconds, queue), daemon=True)
    attack.start()
    time.sleep(RAMP_SECONDS)
    loud, loud_failures = ask_for(port, max(1.0, seconds - RAMP_SECONDS - 0.5), offset=10_000)
    attackers = queue.get(timeout=seconds + 60)
    attack.join(30)
    after, after_failures = ask_for(port, 1.0, offset=20_000)
    quiet_p50, loud_p50 = statistics.median(quiet), statistics.median(loud)
    return {
        "connections_per_kind": connections, "seconds": seconds,
        "quiet": {"answers": len(quiet), "failed": len(quiet_failures),
                  "p50_ms": round(quiet_p50 * 1000, 1)},
        "attack": {"answers": len(loud), "failed": len(loud_failures),
                   "p50_ms": round(loud_p50 * 1000, 1),
                   "p95_ms": round(statistics.quantiles(loud, n=20, method="inclusive")[-1] * 1000, 1)
                   if len(loud) >= 2 else None,
                   "max_ms": round(max(loud) * 1000, 1)},
        "after": {"answers": len(after), "failed": len(after_failures)},
        "p50_ratio": round(loud_p50 / quiet_p50, 2),
        "failures": (quiet_failures + loud_failures + after_failures)[:5],
        "attackers": attackers,
    }


def problems(figures: dict, bound: float) -> list[str]:
    """What failed (empty when the server held)."""
    out = []
    for phase in ("quiet", "attack", "after"):
        if figures[phase]["failed"]:
            out.append(f"{figures[phase]['failed']} of {figures[phase]['answers']} answers "
                       f"failed {phase}: {figures['failures'][:2]}")
    if figures["p50_ratio"] > MAX_P50_RATIO:
        out.append(f"p50 under attack is {figures['p50_ratio']}x the quiet p50")
    for kind, a in figures["attackers"].items():
        if not a["cut_by_server"]:
            out.append(f"no {kind} attacker was cut off")
        if (a["lifetime_max_s"] or 0) > bound or a["oldest_open_s"] > bound:
            out.append(f"a {kind} attacker stayed {max(a['lifetime_max_s'] or 0, a['oldest_open_s'])}"
                       f" s (bound {bound} s)")
    return out


def serve_and_attack(index: Path, connections: int, seconds: float, workers: int = 2,
                     log: Path | None = None) -> dict:
    """`accord serve` over `index` on a free port, attacked; the figures."""
    folder = Path(tempfile.mkdtemp(prefix="accord-slow-"))
    env = child_env(ACCORD_FEEDBACK_DB=str(folder / "f.sqlite3"),
                    # The well-behaved client asks as fast as it is answered.
                    ACCORD_RATE_LIMIT="10000000/minute")
    server = AccordServe(env, index, workers=workers, log=log or folder / "server.log")
    try:
        server.wait_ready()
        figures = run(server.port, connections, seconds)
        figures["server_alive"] = server.proc.poll() is None
    finally:
        server.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    from .soak import build_real_index

    parser = argparse.ArgumentParser(prog="python -m tests.slow_clients",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=256, help="Attackers of each kind.")
    parser.add_argument("--seconds", type=float, default=60, help="How long the attack lasts.")
    parser.add_argument("--bound", type=float, default=BOUND,
                        help="Seconds within which the server must cut every attacker off.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index", type=Path, default=None,
                        help="A built index [default: build one from corpus/ in a temp folder].")
    parser.add_argument("--log", type=Path, default=None, help="Keep the server's log here.")
    parser.add_argument("--port", type=int, default=None,
                        help="Attack a server already listening on this port of 127.0.0.1 "
                             "instead (its rate limit must let one client ask many questions).")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 1024 or not 5 <= args.seconds <= 600:
        parser.error("--connections must be 1..1024 and --seconds 5..600")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.port:
        figures = run(args.port, args.connections, args.seconds)
    else:
        index = args.index or build_real_index(Path(tempfile.mkdtemp(prefix="accord-slow-index-")))
        figures = serve_and_attack(index, args.connections, args.seconds, args.workers, args.log)
    print(json.dumps(figures, indent=2))
    found = problems(figures, args.bound)
    print("PASS" if not found else "FAIL: " + "; ".join(found), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
