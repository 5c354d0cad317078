"""Replicas over one published index: a version published once to shared storage (a folder, an
S3 bucket served by moto on 127.0.0.1) is pulled, checked and served by every replica."""
from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from bot.index.build import build_index
from bot.index.shared_store import POINTER, SharedStoreError, open_shared, sync_once
from bot.index.versions import current_dir

from ..fakes import FakeEncoder
from ..servers import AccordServe, child_env, free_port

SWITCH_SECONDS = 30


_PULLERS: list = []


@pytest.fixture(autouse=True)
def _stop_pullers():
    yield
    while _PULLERS:
        _PULLERS.pop().stop()


def _replica(make_app, tmp_path: Path, name: str, shared: str):
    app = make_app(INDEX_DIR=str(tmp_path / name), SHARED_INDEX=shared, SHARED_POLL_SECONDS=0.2,
                   FEEDBACK_DB=str(tmp_path / f"{name}.sqlite3"))
    _PULLERS.append(app.extensions["accord"].puller)
    return app.test_client()


def _wait_version(client, version: str, seconds: float = SWITCH_SECONDS) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        health = client.get("/api/health").get_json()
        if health.get("index_version") == version or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


def _add_doc(corpus: Path, name: str) -> None:
    (corpus / f"{name}.md").write_text(f"# Ports\n\nThe {name} agreement covers ports and "
                                       "airports. It was signed in spring.\n", encoding="utf-8")


def test_replicas_pull_a_version_published_to_a_shared_folder(make_app, corpus_dir, index_dir,
                                                              tmp_path, fake_encoder):
    shared = str(tmp_path / "shared")
    first = open_shared(shared).publish(current_dir(index_dir))
    for name in ("a", "b"):   # what `accord serve` does first on a replica
        sync_once(open_shared(shared), tmp_path / name)
    a, b = (_replica(make_app, tmp_path, n, shared) for n in ("a", "b"))
    assert a.get("/api/health").get_json()["index_version"] == first

    _add_doc(corpus_dir, "new-ports")
    second = build_index(corpus_dir, index_dir, fake_encoder).version
    started = time.monotonic()
    assert open_shared(shared).publish(current_dir(index_dir)) == second
    for client in (a, b):
        health = _wait_version(client, second)
        assert health["index_version"] == second and health["status"] == "ok"
        assert health["shared"]["version"] == second
    print(f"\nboth replicas switched {time.monotonic() - started:.2f}s after the publish")
    answer = a.post("/api/ask", json={"question": "What does the new-ports agreement cover?"})
    assert "new-ports" in json.dumps(answer.get_json())


def test_a_damaged_upload_is_refused_and_the_old_version_keeps_serving(
        make_app, corpus_dir, index_dir, tmp_path, fake_encoder):
    shared = tmp_path / "shared"
    first = open_shared(str(shared)).publish(current_dir(index_dir))
    sync_once(open_shared(str(shared)), tmp_path / "a")
    a = _replica(make_app, tmp_path, "a", str(shared))
    _add_doc(corpus_dir, "damaged")
    second = build_index(corpus_dir, index_dir, fake_encoder).version
    open_shared(str(shared)).publish(current_dir(index_dir))
    # One byte of a vector file changed in the shared copy, after its manifest was written.
    victim = next(p for p in (shared / "versions" / second).rglob("*")
                  if p.is_file() and p.name != "manifest.json" and p.stat().st_size > 16)
    data = bytearray(victim.read_bytes())
    data[8] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(SharedStoreError, match="corrupted|checksum"):
        sync_once(open_shared(str(shared)), tmp_path / "other")
    health = _wait_version(a, second, seconds=2)
    assert health["index_version"] == first
    assert "corrupted" in health["shared"]["problem"]
    puller = _PULLERS[-1]
    assert puller.refused == second   # refused once, not downloaded again at every poll
    assert not list((tmp_path / "a" / "versions").glob(".staging-*"))


def test_a_pointer_to_a_version_outside_the_store_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / POINTER).write_text(json.dumps({"version": "../../etc"}))
    with pytest.raises(SharedStoreError, match="no valid version"):
        sync_once(open_shared(str(shared)), tmp_path / "index")


@pytest.fixture
def s3(monkeypatch):
    """moto's S3 API server on 127.0.0.1 and a bucket in it."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import boto3

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="accord")
    yield env
    server.stop()


@pytest.mark.slow
def test_two_servers_on_loopback_switch_to_a_version_published_to_s3(s3, serving_index, tmp_path):
    """Two `accord serve` replicas (a real model) pull from moto's S3; after a publish both
    report the new version in /api/health."""
    from bot.embedding.encoder import SentenceTransformerEncoder
    from ..servers import SERVING_MODEL

    real_encoder = SentenceTransformerEncoder(SERVING_MODEL)   # what the replicas serve
    url = "s3://accord/index"
    index = tmp_path / "builder"
    shutil.copytree(serving_index, index, symlinks=True)
    first = open_shared(url).publish(current_dir(index))
    env = child_env(**s3, ACCORD_SHARED_INDEX=url, ACCORD_SHARED_POLL_SECONDS="0.5",
                    ACCORD_FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"))
    servers = [AccordServe(env, tmp_path / f"replica-{i}", 1, None, tmp_path / f"{i}.log")
               for i in range(2)]
    try:
        for server in servers:
            server.wait_ready(180)
        assert {_health(s)["index_version"] for s in servers} == {first}
        corpus = tmp_path / "corpus"
        shutil.copytree(Path(json.loads((current_dir(index) / "manifest.json").read_text())
                             ["corpus"]["dir"]), corpus)
        _add_doc(corpus, "s3-ports")
        second = build_index(corpus, index, real_encoder).version
        started = time.monotonic()
        open_shared(url).publish(current_dir(index))
        seen = {}
        while len(seen) < 2 and time.monotonic() - started < 60:
            for i, server in enumerate(servers):
                if i not in seen and _health(server)["index_version"] == second:
                    seen[i] = time.monotonic() - started
            time.sleep(0.05)
        assert len(seen) == 2, [s.output()[-2000:] for s in servers]
        print(f"\nreplicas switched {seen[0]:.2f}s and {seen[1]:.2f}s after the S3 publish")
    finally:
        for server in servers:
            server.stop()


def _health(server) -> dict:
    with urllib.request.urlopen(server.url + "/api/health", timeout=5) as reply:
        return json.loads(reply.read())


@pytest.mark.parametrize("value", ["0.01", "nan", "soon", "1e9"])
def test_a_poll_interval_out_of_bounds_stops_the_start(make_app, tmp_path, value):
    with pytest.raises(ValueError, match="ACCORD_SHARED_POLL_SECONDS"):
        make_app(SHARED_INDEX=str(tmp_path / "shared"), SHARED_POLL_SECONDS=value)


def test_accord_build_publish_uploads_the_new_version(monkeypatch, corpus_dir, tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.setattr("bot.cli._encoder", lambda model, threads=None: FakeEncoder())
    shared = tmp_path / "shared"
    result = CliRunner().invoke(cli, ["build", "--corpus", str(corpus_dir), "--index",
                                      str(tmp_path / "index"), "--quiet", "--publish",
                                      str(shared)])
    assert result.exit_code == 0, result.output
    version = current_dir(tmp_path / "index").name
    assert f"published {version}" in result.output
    assert open_shared(str(shared)).current() == version
    sync_once(open_shared(str(shared)), tmp_path / "replica")
    assert current_dir(tmp_path / "replica").name == version
