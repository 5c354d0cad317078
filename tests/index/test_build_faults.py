"""A build killed at any point, or publishing a damaged version, leaves the old version serving."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.index.build import build_index
from bot.index.loaded import open_index
from bot.embedding.encoder import probe_vector
from bot.index.versions import VERSIONS, current_dir

REPO = Path(__file__).resolve().parents[2]


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
    from bot.index import loaded as corpus_index
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


def test_documents_read_on_all_cores_give_the_passages_of_one_core(tmp_path, fake_encoder, monkeypatch):
    """A big corpus is split into sentences in worker processes: same passages, same order, and
    a bad file is still reported by name while the others are indexed."""
    import shutil
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: documents are read in this process")
    from bot.index import build
    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).parents[2] / "corpus", corpus)
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary")
    pools = []

    class CountedPool(build.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(build, "ProcessPoolExecutor", CountedPool)
    reports, indexes = [], []
    for name, threshold in (("one-core", 1 << 40), ("all-cores", 0)):
        monkeypatch.setattr(build, "PARALLEL_PARSE_BYTES", threshold)
        reports.append(build_index(corpus, tmp_path / name, fake_encoder, full=True, processes=True))
        indexes.append(open_index(tmp_path / name))
        assert len(pools) == (name == "all-cores")
    one, many = indexes
    assert len(one.passages) > 20
    assert [p.to_dict() for p in one.passages] == [p.to_dict() for p in many.passages]
    assert reports[0].skipped == reports[1].skipped and reports[1].skipped[0][0] == "broken.txt"
