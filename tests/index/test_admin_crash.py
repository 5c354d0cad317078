"""An admin change killed at any point ends all or nothing: after the next start or the next
change, corpus and index are both old or both new, and nothing is left behind."""
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.index import jobs as admin_jobs
from bot import create_app
from bot.index.build import build_index
from bot.index.changes import from_json, update
from bot.index.versions import VERSIONS, current_dir, read_manifest
from bot.corpus.reading import corpus_files, doc_id_for
from tests import build_child

REPO = Path(__file__).resolve().parents[2]
BEFORE_PUBLISH = ["journalled", "corpus written", "reading", "encoding", "writing", "checking",
                  "publishing"]
AFTER_PUBLISH = ["done"]   # published, journal not yet closed


def _state(corpus_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in corpus_dir.iterdir() if p.is_file()}


def _indexed(index_dir: Path) -> dict[str, str]:
    docs = read_manifest(current_dir(index_dir))["corpus"]["documents"]
    return {d["doc_id"]: d["sha256"] for d in docs}


def _on_disk(corpus_dir: Path) -> dict[str, str]:
    return {doc_id_for(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus_files(corpus_dir)}


def _no_debris(corpus_dir: Path, index_dir: Path) -> None:
    left = [*index_dir.glob(".change-*"), *(index_dir / VERSIONS).glob(".staging-*"),
            *index_dir.glob(".current-*"), *corpus_dir.glob(".backup-*"),
            *corpus_dir.glob(".incoming-*")]
    assert not left, left


def _kill_at(stage: str, mode: str, corpus_dir: Path, index_dir: Path) -> None:
    child = subprocess.Popen([sys.executable, "-m", "tests.build_child", str(corpus_dir),
                              str(index_dir), mode], cwd=REPO, stdout=subprocess.PIPE, text=True)
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() == stage:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, seen


@pytest.fixture
def served(corpus_dir, index_dir, fake_encoder):
    """A corpus with a document the change removes, built and served: the 'old' state."""
    (corpus_dir / f"{build_child.REMOVED}.txt").write_text("An extra text about the Western "
                                                           "Science City in Chongqing.")
    build_index(corpus_dir, index_dir, fake_encoder)
    return _state(corpus_dir), current_dir(index_dir).name


def _new_state(old: dict[str, bytes]) -> dict[str, bytes]:
    new = {k: v for k, v in old.items() if k != f"{build_child.REMOVED}.txt"}
    new[f"{build_child.REPLACED}.md"] = from_json({"id": "x", "text": build_child.REPLACEMENT}).raw
    new[f"{build_child.ADDED}.md"] = from_json({"id": "x", "text": build_child.ADDED_TEXT}).raw
    return new


@pytest.mark.parametrize("stage,recovery", [
    *((stage, "start") for stage in BEFORE_PUBLISH + AFTER_PUBLISH),
    *((stage, "change") for stage in ("journalled", "corpus written", "encoding", "publishing",
                                      "done"))])
def test_sigkill_during_a_change_then_recovery_is_all_or_nothing(stage, recovery, served, corpus_dir,
                                                                 index_dir, fake_encoder):
    old, old_version = served
    _kill_at(stage, "change", corpus_dir, index_dir)
    published = stage in AFTER_PUBLISH
    expected = _new_state(old) if published else old

    if recovery == "start":
        app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir),
                          "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder})
        health = app.test_client().get("/api/health").get_json()
        assert (health["index_version"] != old_version) == published
        docs = [d["doc_id"] for d in app.test_client().get("/api/documents").get_json()["documents"]]
        assert (build_child.ADDED in docs) == published
    else:
        # The next change, of something else: it must not carry the killed one along unless
        # that one was published.
        update(corpus_dir, index_dir, fake_encoder,
               add=[from_json({"id": "unrelated", "text": "An unrelated note about trade fairs."})])
        expected = dict(expected, **{"unrelated.md": _state(corpus_dir)["unrelated.md"]})

    assert _state(corpus_dir) == expected
    assert _indexed(index_dir) == _on_disk(corpus_dir)          # the index serves the corpus
    if recovery == "start":
        assert (current_dir(index_dir).name == old_version) == (not published)
    _no_debris(corpus_dir, index_dir)


@pytest.mark.parametrize("stage", ["corpus written", "encoding", "done"])
def test_sigkill_during_an_api_upload_then_restart_is_all_or_nothing(stage, served, corpus_dir,
                                                                    index_dir, fake_encoder):
    old, old_version = served
    _kill_at(stage, "api", corpus_dir, index_dir)
    create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                "ENCODER": fake_encoder})
    state = _state(corpus_dir)
    if stage == "done":
        assert state[f"{build_child.ADDED}.md"] and current_dir(index_dir).name != old_version
    else:
        assert state == old and current_dir(index_dir).name == old_version
    assert _indexed(index_dir) == _on_disk(corpus_dir)
    _no_debris(corpus_dir, index_dir)
    # The job the killed worker ran says what recovery made of it.
    (job_file,) = (index_dir / admin_jobs.FOLDER).glob("*.json")
    job = admin_jobs.read(index_dir, job_file.stem)
    assert job["status"] == ("done" if stage == "done" else "failed"), job
    if stage != "done":
        assert "rolled back" in job["error"]["message"]


def test_a_failed_build_puts_the_corpus_back_with_nothing_left(served, corpus_dir, index_dir,
                                                               fake_encoder):
    old, old_version = served

    def fail(stage):
        if stage == "checking":
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        update(corpus_dir, index_dir, fake_encoder, on_stage=fail,
               add=[from_json({"id": "new-one", "text": "A new text about ports."})],
               remove=[build_child.REMOVED])
    assert _state(corpus_dir) == old and current_dir(index_dir).name == old_version
    _no_debris(corpus_dir, index_dir)


def test_a_plain_build_after_a_killed_change_does_not_publish_it(served, corpus_dir, index_dir,
                                                                 fake_encoder):
    old, _ = served
    _kill_at("encoding", "change", corpus_dir, index_dir)
    build_index(corpus_dir, index_dir, fake_encoder)
    assert _state(corpus_dir) == old
    assert build_child.ADDED not in _indexed(index_dir)
    _no_debris(corpus_dir, index_dir)
