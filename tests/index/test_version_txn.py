"""An index version is one transaction: written into staging, checked, then published with the
switch of `current`, or gone without a trace; builds and the benchmark's synthetic indexes
both go through it."""
import json
import stat

import pytest

from bot.errors import IndexUnavailable
from bot.index.build import build_index
from bot.index.loaded import open_index
from bot.index.versions import CURRENT, MANIFEST, VERSIONS, current_dir, new_version


def _staging(index_dir):
    return list((index_dir / VERSIONS).glob(".staging-*"))


def test_leaving_the_block_publishes_and_moves_current(index_dir):
    old = current_dir(index_dir)
    with new_version(index_dir) as v:
        assert v.folder.name == f".staging-{v.version}" and v.folder.is_dir()
        (v.folder / "data.txt").write_text("hello", encoding="utf-8")
        v.write_manifest({"passages": 1})
        assert current_dir(index_dir) == old   # nothing served yet
    assert v.published == index_dir / VERSIONS / v.version
    assert current_dir(index_dir) == v.published.resolve()
    manifest = json.loads((v.published / MANIFEST).read_text(encoding="utf-8"))
    assert list(manifest)[:3] == ["version", "built_at", "passages"]
    assert manifest["version"] == v.version and manifest["files"]["data.txt"]["bytes"] == 5
    assert not stat.S_IMODE((v.published / "data.txt").stat().st_mode) & 0o222   # read-only
    assert old.is_dir() and not _staging(index_dir)


def test_an_exception_in_the_block_leaves_no_staging_and_the_old_version_current(index_dir):
    old = current_dir(index_dir)
    with pytest.raises(RuntimeError, match="disk full"):
        with new_version(index_dir) as v:
            (v.folder / "data.txt").write_text("half", encoding="utf-8")
            raise RuntimeError("disk full")
    assert v.published is None and not v.folder.exists() and not _staging(index_dir)
    assert current_dir(index_dir) == old
    assert not (index_dir / VERSIONS / v.version).exists()


def test_a_version_failing_its_check_is_not_published(index_dir):
    old = current_dir(index_dir)
    stages = []
    with pytest.raises(IndexUnavailable, match="data.txt is truncated or changed"):
        with new_version(index_dir, on_stage=stages.append) as v:
            (v.folder / "data.txt").write_text("hello", encoding="utf-8")
            v.write_manifest({})
            (v.folder / "data.txt").write_text("hell", encoding="utf-8")   # changed after the manifest
    assert stages == ["checking"]
    assert v.published is None and not _staging(index_dir) and current_dir(index_dir) == old


def test_a_version_without_a_manifest_is_not_published(index_dir):
    old = current_dir(index_dir)
    with pytest.raises(IndexUnavailable, match="manifest.json is missing"):
        with new_version(index_dir) as v:
            (v.folder / "data.txt").write_text("hello", encoding="utf-8")
    assert not _staging(index_dir) and current_dir(index_dir) == old


def test_a_custom_check_refusing_the_version_stops_the_publish(index_dir):
    old = current_dir(index_dir)

    def refuse(folder):
        raise IndexUnavailable(f"{folder} answers nothing")

    with pytest.raises(IndexUnavailable, match="answers nothing"):
        with new_version(index_dir, version="20990101T000000-abcdef", check=refuse) as v:
            v.write_manifest({})
    assert not (index_dir / VERSIONS / "20990101T000000-abcdef").exists()
    assert not _staging(index_dir) and current_dir(index_dir) == old
    assert not list(index_dir.glob(f".{CURRENT}-*"))


def test_a_build_reports_the_checking_and_publishing_stages_of_the_transaction(corpus_dir, tmp_path,
                                                                              fake_encoder):
    stages = []
    report = build_index(corpus_dir, tmp_path / "index", fake_encoder, on_stage=stages.append)
    assert stages == ["reading", "encoding", "writing", "checking", "publishing", "done"]
    assert report.folder == tmp_path / "index" / VERSIONS / report.version
    assert current_dir(tmp_path / "index").name == report.version


def test_synthetic_indexes_are_published_as_real_builds_are(index_dir, tmp_path):
    from bot.bench.synth_index import synthesize
    from bot.index.dense import FLAT

    real = open_index(index_dir)
    synth_dir = tmp_path / "synthetic"
    made = synthesize(real, synth_dir, 250, kind=FLAT, say=lambda line: None)
    folder = current_dir(synth_dir)
    assert folder.parent == synth_dir / VERSIONS and folder.name.endswith("-synthetic250")
    assert not _staging(synth_dir)
    real_manifest = json.loads((current_dir(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest) - {"synthetic"} == set(real_manifest)
    assert manifest["synthetic"] is True and manifest["build"] == {"runner": "synthetic"}
    assert manifest["format"] == real_manifest["format"] and manifest["passages"] == 250
    assert not stat.S_IMODE((folder / MANIFEST).stat().st_mode) & 0o222   # read-only, as a build's
    loaded = open_index(synth_dir, dimension=real.vectors.dimension)
    assert len(loaded.passages) == 250 and made["sentences"] == len(loaded.sentence_vectors)
