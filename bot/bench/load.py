"""Load generation and server control for `accord bench`: a small HTTP/1.1 keep-alive client
(asyncio, so that the client costs the 2 cores little), gunicorn via `accord serve`, and memory
(PSS) of a server's processes from /proc/<pid>/smaps_rollup. Only 127.0.0.1 is ever used."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ask_body(question: str) -> bytes:
    return json.dumps({"question": question}).encode()


class Connection:
    """One keep-alive connection; `post` returns (status, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionError("closed")
            status = int(status_line.split()[1])
            length, close = 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            data = await self.reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            self.close()
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _ask(conn: Connection, body: bytes) -> tuple[int, float, bytes]:
    """(status, seconds, reply body) of one /api/ask; status 0 when the connection failed."""
    start = time.perf_counter()
    data = b""
    try:
        status, data = await conn.post("/api/ask", body)
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        status = 0
    return status, time.perf_counter() - start, data


def took_ms(data: bytes) -> float | None:
    """The reply's own `took_ms`: the time inside the bot, encode included."""
    try:
        value = json.loads(data).get("took_ms")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


async def _sequential(port: int, bodies: Sequence[bytes]) -> tuple[list[float], int, list[float]]:
    conn, times, errors, inside = Connection(port), [], 0, []
    for body in bodies:
        status, seconds, data = await _ask(conn, body)
        times.append(seconds)
        errors += status != 200
        took = took_ms(data) if status == 200 else None
        if took is not None:
            inside.append(took / 1000)
    conn.close()
    return times, errors, inside


def latency(port: int, bodies: Sequence[bytes]) -> tuple[list[float], int, list[float]]:
    """Seconds of each request sent one after another on one connection; errors; seconds each
    answer spent inside the bot (its `took_ms`), to tell the server's own time from HTTP's."""
    return asyncio.run(_sequential(port, bodies))


async def _load(port: int, bodies: Sequence[bytes], clients: int, seconds: float) -> dict[str, Any]:
    stop = time.perf_counter() + seconds
    counter = iter(range(10 ** 9))
    done, errors, times = 0, 0, []

    async def client() -> None:
        nonlocal done, errors
        conn = Connection(port)
        while time.perf_counter() < stop:
            status, seconds, _ = await _ask(conn, bodies[next(counter) % len(bodies)])
            times.append(seconds)
            done += 1
            errors += status != 200
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"requests": done, "errors": errors, "seconds": round(elapsed, 2),
            "per_second": round((done - errors) / elapsed, 2), "latencies": times}


def load(port: int, bodies: Sequence[bytes], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` concurrent keep-alive clients for `seconds`: requests, errors, answers per second."""
    return asyncio.run(_load(port, bodies, clients, seconds))


def accord_command() -> list[str]:
    script = Path(sys.executable).with_name("accord")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]


class Server:
    """`accord serve` (gunicorn) on 127.0.0.1 for one index folder."""

    def __init__(self, index_dir: Path, workers: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = log
        full_env = dict(os.environ, ACCORD_RATE_LIMIT="1000000/minute", ACCORD_TORCH_THREADS="1",
                        ACCORD_LOG_LEVEL="WARNING", ACCORD_QUERY_CACHE="0",
                        ACCORD_FEEDBACK_DB=str(log.with_suffix(".sqlite3")),
                        ACCORD_STORE_QUESTIONS="false", HF_HUB_OFFLINE="1",
                        OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
        full_env.update(env or {})
        args = accord_command() + ["serve", "--index", str(index_dir), "--port", str(self.port),
                                   "--workers", str(workers)]
        self.started = time.perf_counter()
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(args, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_first_answer(self, question: str, timeout: float = 600.0) -> float:
        """Seconds from starting `accord serve` to the first 200 reply of /api/ask."""
        body = ask_body(question)
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"accord serve exited ({self.proc.returncode}); see {self.log}")
            try:
                times, errors, _ = latency(self.port, [body])
                if not errors:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no answer from accord serve within {timeout:.0f}s; see {self.log}")

    def pids(self) -> list[int]:
        """The gunicorn master (accord serve execs it) and its workers."""
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def memory(pids: Sequence[int]) -> dict[str, float]:
    """Sum over processes of Pss, Rss and private bytes (MiB), from /proc/<pid>/smaps_rollup."""
    total = {"pss_mib": 0.0, "rss_mib": 0.0, "private_mib": 0.0, "processes": 0}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines()[1:]
                  if line.split()[-1] == "kB"}
        total["pss_mib"] += fields.get("Pss", 0) / 1024
        total["rss_mib"] += fields.get("Rss", 0) / 1024
        total["private_mib"] += (fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024
        total["processes"] += 1
    return {k: round(v, 1) for k, v in total.items()}
