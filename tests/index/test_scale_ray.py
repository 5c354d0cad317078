"""Builds on a local Ray cluster (127.0.0.1, 2 CPUs): the same index version as a local build,
and a worker killed in the middle of a build."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from bot.index.build import build_index
from bot.settings import load
from bot.errors import AccordError
from bot.index.versions import current_dir
from bot.bench.synth_corpus import write_corpus

from ..conftest import CORPUS, REPO
from ..fakes import FakeEncoder
from ..ray_fakes import KillingEncoder

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
PASSAGES = 1400   # about 1,200 passages and 4,200 sentences


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 CPUs on loopback, for this module only (about 10 s to start)."""
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                     logging_level="WARNING", _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}})
            break
        except Exception:
            # Ray gives its raylet 30 s to register: a busy machine can miss that once.
            ray.shutdown()
            if attempt == 2:
                raise
    from ray.data import DataContext
    DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_corpus(out, PASSAGES, CORPUS)
    return out


@pytest.fixture(scope="module")
def local_build(synthetic, tmp_path_factory):
    """The synthetic corpus built locally once (index folder, report): the reference."""
    folder = tmp_path_factory.mktemp("local") / "index"
    return folder, build_index(synthetic, folder, FakeEncoder(), full=True)


def _copy(local_build, tmp_path: Path) -> Path:
    import shutil
    shutil.copytree(local_build[0], tmp_path / "index", symlinks=True)
    return tmp_path / "index"


def _files(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    return manifest


def _comparable(manifest: dict) -> dict:
    """The manifest without the facts of one build (when, how, the checksums of its files)."""
    return {k: v for k, v in manifest.items()
            if k not in ("version", "built_at", "build", "files", "libraries")}


def test_ray_build_writes_the_index_a_local_build_writes(cluster, synthetic, local_build,
                                                         tmp_path):
    from bot.index.loaded import CorpusIndex
    from bot.index.ray_build import RayRunner

    encoder = FakeEncoder()
    local = local_build[1]
    runner = RayRunner(encoder)
    assert runner.actors == 2
    started = time.perf_counter()
    local_seconds = local.seconds
    on_ray = build_index(synthetic, tmp_path / "ray", encoder, full=True, runner=runner)
    assert on_ray.passages == local.passages >= 1000
    assert 0 < on_ray.encoded <= local.encoded   # a text both passage and sentence: once
    a, b = current_dir(local_build[0]), current_dir(tmp_path / "ray")
    ma, mb = _files(a), _files(b)
    assert _comparable(ma) == _comparable(mb)
    assert mb["build"]["runner"] == "ray" and ma["build"] == {"runner": "local"}
    ia, ib = CorpusIndex.load(a, ma), CorpusIndex.load(b, mb)
    assert [p.id for p in ia.passages] == [p.id for p in ib.passages]
    assert [p.text for p in ia.passages] == [p.text for p in ib.passages]
    va = np.stack([ia.vectors.reconstruct(i) for i in range(len(ia.vectors))])
    vb = np.stack([ib.vectors.reconstruct(i) for i in range(len(ib.vectors))])
    assert va.shape == vb.shape
    assert float(np.min(np.sum(va * vb, axis=1))) >= 0.9999
    assert float(np.min(np.sum(ia.sentence_vectors * ib.sentence_vectors, axis=1))) >= 0.9999
    print(f"\nlocal build {local.passages / local_seconds:.0f} passages/s, ray build "
          f"{on_ray.passages / (time.perf_counter() - started):.0f} passages/s "
          f"({local.passages} passages, {local.encoded} texts)")

    # The cache filled by the Ray workers serves the next build: nothing is encoded again.
    again = build_index(synthetic, tmp_path / "ray", encoder, runner=runner)
    assert again.encoded == 0 and again.reused == again.passages + again.sentences


def test_a_worker_killed_once_is_retried_and_the_build_completes(cluster, synthetic, local_build,
                                                                tmp_path):
    from bot.index.ray_build import RayRunner

    index, first = _copy(local_build, tmp_path), local_build[1]
    marks = tmp_path / "marks"
    encoder = KillingEncoder(marks, times=1)
    (synthetic / "new-one.md").write_text("# New\n\n" + " ".join(
        f"New sentence number {i} about the ports." for i in range(400)), encoding="utf-8")
    try:
        report = build_index(synthetic, index, encoder, runner=RayRunner(encoder))
    finally:
        (synthetic / "new-one.md").unlink()
    assert len(list(marks.iterdir())) == 1      # a worker did die
    assert report.version != first.version and current_dir(index).name == report.version
    assert report.added == ["new-one"]


def test_workers_that_keep_dying_fail_the_build_and_the_old_version_serves(
        cluster, synthetic, local_build, tmp_path):
    from bot import create_app
    from bot.index.ray_build import RayRunner

    index, first = _copy(local_build, tmp_path), local_build[1]
    encoder = KillingEncoder(tmp_path / "marks", times=1000)
    (synthetic / "new-two.md").write_text("# New\n\n" + " ".join(
        f"Another sentence number {i} about the airports." for i in range(400)), encoding="utf-8")
    try:
        with pytest.raises(AccordError, match="Ray build failed"):
            build_index(synthetic, index, encoder, runner=RayRunner(encoder))
    finally:
        (synthetic / "new-two.md").unlink()
    assert current_dir(index).name == first.version
    assert not list((index / "versions").glob(".staging-*"))
    app = create_app({"TESTING": True, "CORPUS_DIR": str(synthetic), "INDEX_DIR": str(index),
                      "ENCODER": FakeEncoder()})
    health = app.test_client().get("/api/health").get_json()
    assert health["index_version"] == first.version


def test_without_ray_the_command_says_how_to_install_it(monkeypatch, corpus_dir, tmp_path):
    import sys

    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.setitem(sys.modules, "ray", None)   # import ray fails as if not installed
    monkeypatch.setattr("bot.cli._encoder", lambda model, threads=None: FakeEncoder())
    result = CliRunner().invoke(cli, ["build", "--ray", "--corpus", str(corpus_dir),
                                      "--index", str(tmp_path / "index"), "--quiet"])
    assert result.exit_code != 0
    assert "pip install 'accord-bot[ray]'" in result.output
    assert not (tmp_path / "index" / "current").exists()


def test_with_ray_configured_every_build_runs_on_ray(cluster, synthetic, local_build, tmp_path,
                                                     monkeypatch):
    """ACCORD_RAY_ADDRESS: builds that name no runner (admin changes and rebuilds) use Ray."""
    index = _copy(local_build, tmp_path)
    monkeypatch.setenv("ACCORD_RAY_ADDRESS", "local")   # this process's cluster
    (synthetic / "admin-added.md").write_text("# Added\n\nAdded over the admin API today.\n",
                                              encoding="utf-8")
    try:
        report = build_index(synthetic, index, FakeEncoder(), settings=load())
    finally:
        (synthetic / "admin-added.md").unlink()
    assert report.added == ["admin-added"]
    assert _files(current_dir(index))["build"]["runner"] == "ray"
