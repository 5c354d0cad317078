"""Debian's PostgreSQL started for a test on 127.0.0.1 (as the postgres user when run as root:
initdb and postgres refuse root), stopped by the fixture whatever happens."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

START_SECONDS = 30


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path):
    """(URL, process) of a new throwaway cluster in `folder`; skips the test without postgres."""
    initdb, postgres = _bin("initdb"), _bin("postgres")
    if not (initdb and postgres):
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; scripts/test.sh does)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "postgres", "postgres")
        for parent in folder.parents:   # postgres must reach its folder
            if str(parent).startswith(("/tmp", "/var/tmp")) and parent != Path("/tmp"):
                parent.chmod(parent.stat().st_mode | 0o711)
    data = folder / "data"
    subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres",
                              "--no-sync", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    proc = subprocess.Popen(as_user + [postgres, "-D", str(data), "-h", "127.0.0.1",
                                       "-p", str(port), "-k", str(folder), "-c", "fsync=off",
                                       "-c", "max_connections=40"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("postgres exited at start")
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("postgres did not start")
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", proc


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
