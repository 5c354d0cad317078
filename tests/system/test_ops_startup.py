"""Start-up faults: each gives one clear line and a non-zero exit, never a traceback, for
`accord serve` and for gunicorn on 'bot:create_app()'."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from ..servers import BIN, HOST, REPO, child_env, free_port

TIMEOUT = 90


def truncated_copy(index_dir: Path, target: Path) -> Path:
    """A copy of the index whose biggest file lost its second half."""
    shutil.copytree(index_dir, target, symlinks=True)
    version = (target / "current").resolve()
    biggest = max((p for p in version.rglob("*") if p.is_file() and p.name != "manifest.json"),
                  key=lambda p: p.stat().st_size)
    data = biggest.read_bytes()
    biggest.write_bytes(data[: len(data) // 2])
    return target


def blocked_folder(tmp_path: Path) -> Path:
    """A folder nothing can be written in, even by root: a file stands where it should be."""
    blocker = tmp_path / "instance"
    blocker.write_text("a file, not a folder")
    return blocker


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def gunicorn(port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([str(BIN / "gunicorn"), "--bind", f"{HOST}:{port}", "--no-control-socket",
                "bot:create_app()"], env)


def accord_serve(port: int, index: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([str(BIN / "accord"), "serve", "--port", str(port), "--index", str(index),
                "--workers", "1"], env)


def assert_one_clear_line(result: subprocess.CompletedProcess, prefix: str, *words: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output and 'File "' not in output, output
    lines = [line for line in output.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def held_port():
    """A port on 127.0.0.1 that another program is listening on."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen()
        yield sock.getsockname()[1]


# gunicorn 'bot:create_app()': the app factory refuses to start, gunicorn prints its one line.

def test_gunicorn_with_the_model_folder_missing(index_dir, tmp_path):
    env = child_env(ACCORD_INDEX_DIR=str(index_dir), ACCORD_MODEL=str(tmp_path / "no-model"),
                    ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    assert_one_clear_line(gunicorn(free_port(), env), "accord cannot start:",
                          "model folder", "does not exist", "ACCORD_MODEL")


def test_gunicorn_with_the_index_missing(tmp_path):
    env = child_env(ACCORD_INDEX_DIR=str(tmp_path / "no-index"),
                    ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    assert_one_clear_line(gunicorn(free_port(), env), "accord cannot start:",
                          "no index", "accord build")


def test_gunicorn_with_the_index_truncated(index_dir, tmp_path):
    damaged = truncated_copy(index_dir, tmp_path / "damaged")
    env = child_env(ACCORD_INDEX_DIR=str(damaged), ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    assert_one_clear_line(gunicorn(free_port(), env), "accord cannot start:",
                          "truncated", "accord build")


def test_gunicorn_with_an_unwritable_instance_folder(index_dir, tmp_path):
    db = blocked_folder(tmp_path) / "feedback.sqlite3"
    env = child_env(ACCORD_INDEX_DIR=str(index_dir), ACCORD_FEEDBACK_DB=str(db))
    assert_one_clear_line(gunicorn(free_port(), env), "accord cannot start:",
                          "cannot write the feedback database", "ACCORD_FEEDBACK_DB")


def test_gunicorn_with_a_bad_setting(index_dir, tmp_path):
    env = child_env(ACCORD_INDEX_DIR=str(index_dir), ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"),
                    ACCORD_RATE_LIMIT="lots")
    assert_one_clear_line(gunicorn(free_port(), env), "accord cannot start:", "ACCORD_RATE_LIMIT")


def test_gunicorn_with_the_port_in_use(index_dir, tmp_path, held_port):
    env = child_env(ACCORD_INDEX_DIR=str(index_dir), ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    result = gunicorn(held_port, env)
    output = result.stdout + result.stderr
    # Gunicorn's own words (it retries a few times): no traceback, non-zero exit.
    assert result.returncode != 0 and "Traceback" not in output
    assert "Connection in use" in output or "in use" in output


# accord serve: checked before gunicorn starts, so the line is click's "Error: ...".

def test_serve_with_the_index_truncated(index_dir, tmp_path):
    damaged = truncated_copy(index_dir, tmp_path / "damaged")
    env = child_env(ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    line = assert_one_clear_line(accord_serve(free_port(), damaged, env), "Error:",
                                 "truncated", "accord build")
    assert line == (accord_serve(free_port(), damaged, env).stderr.strip())   # nothing else


def test_serve_with_the_model_folder_missing(index_dir, tmp_path):
    env = child_env(ACCORD_MODEL=str(tmp_path / "no-model"),
                    ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    assert_one_clear_line(accord_serve(free_port(), index_dir, env), "Error:",
                          "model folder", "does not exist")


def test_serve_with_the_port_in_use(index_dir, tmp_path, held_port):
    env = child_env(ACCORD_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    assert_one_clear_line(accord_serve(held_port, index_dir, env), "Error:",
                          f"cannot listen on {HOST}:{held_port}", "already in use")


def test_serve_with_an_unwritable_instance_folder(index_dir, tmp_path):
    env = child_env(ACCORD_FEEDBACK_DB=str(blocked_folder(tmp_path) / "feedback.sqlite3"))
    assert_one_clear_line(accord_serve(free_port(), index_dir, env), "Error:",
                          "cannot write the feedback database")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_serve_with_a_read_only_instance_folder(index_dir, tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o500)
    env = child_env(ACCORD_FEEDBACK_DB=str(folder / "feedback.sqlite3"))
    try:
        assert_one_clear_line(accord_serve(free_port(), index_dir, env), "Error:",
                              "cannot write the feedback database")
    finally:
        folder.chmod(0o700)


def test_serve_stops_cleanly_with_every_worker(serving_index, tmp_path):
    # Workers are forked from a preloaded master; each must end (no abort, none left behind).
    import signal
    import time
    import urllib.request

    port = free_port()
    env = child_env(ACCORD_FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"))
    proc = subprocess.Popen([str(BIN / "accord"), "serve", "--index", str(serving_index), "--port",
                             str(port), "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        workers: list[int] = []
        while time.time() < deadline and len(workers) < 2:   # the master forks them one by one
            workers = [int(x) for t in Path(f"/proc/{proc.pid}/task").iterdir()
                       for x in (t / "children").read_text().split()]
            time.sleep(0.1)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        proc.kill()
    assert proc.returncode == 0, output[-2000:]
    assert "SIGABRT" not in output and "terminate called" not in output, output[-2000:]
    assert not [w for w in workers if Path(f"/proc/{w}").exists()], "a worker outlived the server"
