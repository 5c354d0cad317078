"""Published index versions are read-only, a worker falls back only to a version still on disk,
and /api/health says when a worker does not serve index/current."""
import stat

from bot.index.build import build_index
from bot.index.loaded import VECTORS
from bot.index.versions import VERSIONS, current_dir


def test_published_versions_are_read_only_on_disk(index_dir):
    folder = current_dir(index_dir)
    paths = [folder, *folder.rglob("*")]
    assert len(paths) > 5
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o222 == 0, f"{path} is writable ({oct(mode)})"


def test_old_read_only_versions_are_still_pruned(corpus_dir, index_dir, fake_encoder):
    for n in range(4):
        (corpus_dir / f"more-{n}.txt").write_text(f"Text number {n} about Chongqing trade.")
        build_index(corpus_dir, index_dir, fake_encoder)
    assert len([p for p in (index_dir / VERSIONS).iterdir()]) == 3


def test_a_refused_version_falls_back_only_to_one_on_disk_and_health_says_stale(
        app, client, corpus_dir, index_dir, fake_encoder):
    holder = app.extensions["accord"]
    first = holder.get().index.version
    built = []
    for n in range(3):   # three newer versions: the first one is pruned from disk
        (corpus_dir / f"more-{n}.txt").write_text(f"Text number {n} about Chongqing trade.")
        built.append(build_index(corpus_dir, index_dir, fake_encoder).version)
    assert not (index_dir / VERSIONS / first).exists()
    damaged = current_dir(index_dir) / VECTORS
    damaged.chmod(0o644)
    damaged.write_bytes(b"copied over")

    served = holder.get().index.version
    assert served != first                          # not the one gone from disk
    assert served == built[-2]                      # the newest one still there
    health = client.get("/api/health").get_json()
    assert health["status"] == "stale"
    assert health["index_version"] == built[-2] and health["current_version"] == built[-1]
    assert "passages.faiss" in health["problem"] and str(index_dir) not in health["problem"]
    assert client.post("/api/ask", json={"question": "Chongqing trade"}).status_code == 200


def test_health_is_ok_and_names_current_when_serving_it(client, index_dir):
    health = client.get("/api/health").get_json()
    assert health["status"] == "ok" and health["current_version"] == current_dir(index_dir).name


def test_a_file_edited_in_place_makes_every_worker_refuse_the_version(
        corpus_dir, index_dir, fake_encoder, monkeypatch):
    from bot import create_app, service
    monkeypatch.setattr(service, "CHECK_SECONDS", 0.0)
    previous = current_dir(index_dir).name
    (corpus_dir / "more.txt").write_text("The Shanghai office opened a trade desk in 2024.")
    build_index(corpus_dir, index_dir, fake_encoder)
    workers = [create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir),
                           "INDEX_DIR": str(index_dir), "ENCODER": fake_encoder})
               for _ in range(2)]
    current = current_dir(index_dir).name
    assert [w.extensions["accord"].get().index.version for w in workers] == [current, current]

    strings = current_dir(index_dir) / "passages" / "strings.bin"
    strings.chmod(0o644)   # what the read-only mode is there to stop; root writes anyway
    raw = bytearray(strings.read_bytes())
    raw[10] = ord("X") if raw[10] != ord("X") else ord("Y")
    strings.write_bytes(bytes(raw))                        # same size, one byte changed

    for worker in workers:
        health = worker.test_client().get("/api/health").get_json()
        assert health["status"] == "stale" and health["index_version"] == previous, health
        assert health["current_version"] == current and "checksum" in health["problem"]
