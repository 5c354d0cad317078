"""A build killed at any point, or publishing a damaged version, leaves the old version serving."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.build import build_index
from bot.corpus_index import open_index
from bot.encoder import probe_vector
from bot.store import VERSIONS, current_dir

REPO = Path(__file__).resolve().parent.parent


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("stage", ["reading", "encoding", "writing", "checking", "publishing"])
def test_sigkill_at_each_stage_leaves_the_old_version_serving(stage, app, client, corpus_dir, index_dir,
                                                              fake_encoder):
    old = current_dir(index_dir)
    before = _files(old)
    (corpus_dir / "later.txt").write_text("A later text about Chongqing and Hong Kong youths.")
    child = subprocess.Popen([sys.executable, "-m", "tests.build_child", str(corpus_dir), str(index_dir)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.strip() == stage:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    assert current_dir(index_dir) == old and _files(old) == before     # untouched
    index = open_index(index_dir, probe_vector(fake_encoder), fake_encoder.dimension)
    assert index.version == old.name
    reply = client.post("/api/ask", json={"question": "HKEX Share Transfer Center"})
    assert reply.status_code == 200 and reply.get_json()["answered"] is not None
    # The lock died with the process: the next build runs, publishes, and clears the debris.
    report = build_index(corpus_dir, index_dir, fake_encoder)
    assert current_dir(index_dir).name == report.version
    assert not list((index_dir / VERSIONS).glob(".staging-*"))
    assert client.get("/api/health").get_json()["index_version"] == report.version


def test_an_uninterrupted_child_build_publishes(corpus_dir, index_dir):
    child = subprocess.run([sys.executable, "-m", "tests.build_child", str(corpus_dir), str(index_dir)],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert child.stdout.split()[-2:] == ["done", "finished"]


def test_a_version_that_fails_its_check_is_never_published(corpus_dir, index_dir, fake_encoder, monkeypatch):
    from bot import corpus_index
    old = current_dir(index_dir)
    real_save = corpus_index.CorpusIndex.save

    def save_then_damage(self, folder):
        real_save(self, folder)
        (folder / corpus_index.VECTORS).write_bytes(b"not a faiss index")

    monkeypatch.setattr(corpus_index.CorpusIndex, "save", save_then_damage)
    with pytest.raises(Exception, match="passages.faiss"):
        build_index(corpus_dir, index_dir, fake_encoder)
    assert current_dir(index_dir) == old
    assert not list((index_dir / VERSIONS).glob(".staging-*"))
