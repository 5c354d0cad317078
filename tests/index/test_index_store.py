"""The index folder: manifest, checks on load, versions, and the CLI's one-line errors."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from bot import cli as cli_module
from bot.index.build import build_index
from bot.index.loaded import VECTORS, open_index
from bot.embedding.encoder import probe_vector
from bot.errors import BuildLocked, IndexUnavailable
from bot.index.versions import current_dir

from ..fakes import FakeEncoder


def test_manifest_describes_the_build(index_dir, fake_encoder):
    manifest = json.loads((current_dir(index_dir) / "manifest.json").read_text())
    assert manifest["model"]["name"] == fake_encoder.name
    assert manifest["model"]["dimension"] == fake_encoder.dimension
    assert manifest["passages"] >= 2 and manifest["corpus"]["fingerprint"]
    assert {"faiss-cpu", "sentence-transformers", "numpy"} <= set(manifest["libraries"])
    assert VECTORS in manifest["files"] and manifest["built_at"]
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())


def _open(index_dir, encoder):
    return open_index(index_dir, probe=probe_vector(encoder), dimension=encoder.dimension)


def test_a_truncated_faiss_file_is_refused_naming_the_file(index_dir, fake_encoder):
    path = current_dir(index_dir) / VECTORS
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexUnavailable, match=r"passages\.faiss.*accord build"):
        _open(index_dir, fake_encoder)


def test_a_corrupted_file_is_refused_naming_the_file(index_dir, fake_encoder):
    path = current_dir(index_dir) / "passages" / "strings.bin"
    data = bytearray(path.read_bytes())
    data[10] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(IndexUnavailable, match=r"strings\.bin is corrupted"):
        _open(index_dir, fake_encoder)


def test_another_model_is_refused(index_dir):
    with pytest.raises(IndexUnavailable, match="dimension"):
        _open(index_dir, FakeEncoder(dimension=32))

    class Shifted(FakeEncoder):
        def encode(self, texts, batch_size=64, progress=False):
            return np.roll(super().encode(texts), 1, axis=1)

    with pytest.raises(IndexUnavailable, match="built with model"):
        _open(index_dir, Shifted())


def test_missing_index_names_the_fix(tmp_path, fake_encoder):
    with pytest.raises(IndexUnavailable, match="build one with `accord build`"):
        _open(tmp_path / "nowhere", fake_encoder)


def test_rebuilding_the_same_texts_gives_the_same_passage_ids(index_dir, corpus_dir, fake_encoder):
    first = [p.id for p in _open(index_dir, fake_encoder).passages]
    build_index(corpus_dir, index_dir, fake_encoder)
    assert [p.id for p in _open(index_dir, fake_encoder).passages] == first


def _hold_lock(index_dir, seconds):
    """Another process holding the build lock, as a running build would."""
    import subprocess
    import sys
    code = ("import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            "print('held', flush=True); time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(index_dir / ".build.lock"), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_build_waits_for_the_first_and_says_so(index_dir, corpus_dir, fake_encoder):
    told = []
    holder = _hold_lock(index_dir, 3)
    with pytest.raises(BuildLocked, match="another build is running"):
        build_index(corpus_dir, index_dir, fake_encoder, wait=0.2, on_wait=lambda: told.append(1))
    assert told == [1]
    report = build_index(corpus_dir, index_dir, fake_encoder, wait=30)
    assert report.waited and report.version
    holder.wait()


def test_a_failed_build_leaves_the_current_version(index_dir, corpus_dir, fake_encoder):
    before = current_dir(index_dir)

    class Broken(FakeEncoder):
        def encode(self, texts, batch_size=64, progress=False):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build_index(corpus_dir, index_dir, Broken())
    assert current_dir(index_dir) == before
    assert _open(index_dir, fake_encoder).version == before.name


@pytest.fixture
def fake_cli(monkeypatch, fake_encoder):
    monkeypatch.setattr(cli_module, "_encoder", lambda model, threads=None: fake_encoder)
    return CliRunner()


def test_build_prints_a_summary(fake_cli, corpus_dir, tmp_path):
    (corpus_dir / "broken.txt").write_bytes(b"\xff\xfe\x00bad")
    result = fake_cli.invoke(cli_module.cli, ["build", "--corpus", str(corpus_dir),
                                              "--index", str(tmp_path / "ix"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 documents" in result.output and "passages" in result.output
    assert "skipped broken.txt" in result.output


@pytest.mark.parametrize("damage", ["truncate", "missing", "model"])
def test_ask_stops_with_one_line_naming_problem_and_fix(fake_cli, index_dir, tmp_path, monkeypatch, damage):
    target = index_dir
    if damage == "truncate":
        path = current_dir(index_dir) / VECTORS
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "missing":
        target = tmp_path / "empty"
    else:
        monkeypatch.setattr(cli_module, "_encoder", lambda model, threads=None: FakeEncoder(dimension=16))
    result = fake_cli.invoke(cli_module.cli, ["ask", "What about youths?", "--index", str(target)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "accord build" in lines[0]
    assert "Traceback" not in result.output


def test_ask_json_has_the_api_shape(fake_cli, index_dir):
    result = fake_cli.invoke(cli_module.cli, ["ask", "HKEX Share Transfer Center exchanges",
                                              "--index", str(index_dir), "--json"])
    reply = json.loads(result.output)
    assert set(reply) >= {"answered", "answer", "citations", "query", "took_ms"}
