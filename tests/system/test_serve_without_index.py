"""`accord serve` with ACCORD_REQUIRE_INDEX=false starts empty instead of building first."""
from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from bot import cli as cli_module
from bot import startup


class Started(Exception):
    """Raised in place of os.execv: gunicorn would start here."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(monkeypatch, tmp_path):
    built = []
    for name in ("ACCORD_CORPUS_DIR", "ACCORD_INDEX_DIR", "ACCORD_MODEL"):
        monkeypatch.delenv(name, raising=False)   # serve sets them for gunicorn: undone after
    monkeypatch.setattr(startup, "check_model", lambda model: None)
    monkeypatch.setattr(startup, "prepare_encoder", lambda model, settings=None: None)
    monkeypatch.setattr(startup, "check_feedback_db", lambda path, database_url=None: None)
    monkeypatch.setattr(cli_module, "run_build", lambda *a, **k: built.append(a))

    def execv(path, args):
        raise Started(args)

    monkeypatch.setattr(cli_module.os, "execv", execv)

    def run(require: str):
        monkeypatch.setenv("ACCORD_REQUIRE_INDEX", require)
        result = CliRunner().invoke(cli_module.cli, [
            "serve", "--port", str(free_port()), "--index", str(tmp_path / "empty"),
            "--corpus", str(tmp_path / "corpus")])
        return result, built
    return run


def test_serve_starts_empty_when_the_index_is_not_required(serve):
    result, built = serve("false")
    assert isinstance(result.exception, Started), result.output
    assert built == []
    assert "starting without one" in result.output


def test_serve_builds_first_when_the_index_is_required(serve):
    result, built = serve("true")
    assert built   # it tried to build (the stub builds nothing, so the check then stops it)
    assert not isinstance(result.exception, Started)
