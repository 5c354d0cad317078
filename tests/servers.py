"""Servers the tests start and stop themselves on 127.0.0.1: redis-server, gunicorn and
`accord serve`."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


SERVING_MODEL = "all-MiniLM-L6-v2"   # what serving tests run (conftest.serving_index)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this checkout's bot, offline, no stray ACCORD_*,
    the model of conftest.serving_index unless `extra` names another."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "PROMETHEUS_"))}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1",
               ACCORD_MODEL=SERVING_MODEL)
    env.update(extra)
    return env


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen, seconds: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class RedisServer:
    """Debian's redis-server on a free port of 127.0.0.1, no persistence, stopped by stop()."""

    def __init__(self, folder: Path) -> None:
        exe = shutil.which("redis-server")
        if not exe:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, self.proc, 10):
            self.stop()
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        stop(self.proc)


class Server:
    """A web server child process on 127.0.0.1 whose output goes to `log` (or is dropped)."""

    def __init__(self, args: list[str], env: dict[str, str], port: int,
                 log: Path | None = None) -> None:
        self.port = port
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 120) -> None:
        """Until /api/health answers 200 (every worker loads the model first)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise RuntimeError(f"the server did not get ready: {self.output()}")

    def output(self) -> str:
        if self.log_path:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        return ""

    def stop(self) -> str:
        stop(self.proc)
        if self.log_path:
            self.log.close()
        return self.output()


class Gunicorn(Server):
    """The Procfile's server: gunicorn with bot.gunicorn_conf on 'bot:create_app()' (or, with
    config=False, gunicorn's own defaults)."""

    def __init__(self, env: dict[str, str], workers: int = 1, config: bool = True,
                 port: int | None = None, log: Path | None = None) -> None:
        port = port or free_port()
        args = [str(BIN / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(workers),
                "--graceful-timeout", "10"]
        if config:
            args += ["--config", "python:bot.gunicorn_conf"]
        super().__init__(args + ["bot:create_app()"], env, port, log)


class AccordServe(Server):
    """`accord serve` over `index` as people run it (preloaded workers forked from one master)."""

    def __init__(self, env: dict[str, str], index: Path, workers: int = 2,
                 port: int | None = None, log: Path | None = None, *extra: str) -> None:
        port = port or free_port()
        args = [str(BIN / "accord"), "serve", "--host", HOST, "--port", str(port),
                "--index", str(index), "--workers", str(workers), *extra]
        super().__init__(args, env, port, log)
