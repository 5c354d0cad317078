"""Admin API: adding, replacing and removing documents while serving; hot reload of versions."""
import io

import pytest

from bot.index.build import build_index
from bot.index.loaded import VECTORS
from bot.index.versions import current_dir

TOKEN = {"Authorization": "Bearer adm1n"}
NOTE = {"id": "green-finance-2024", "title": "Green finance talks", "source": "Example wire",
        "date": "2024-06-01",
        "text": "Hong Kong and Chongqing agreed to set up a green bond working group in June 2024."}


def _version(client):
    return client.get("/api/health").get_json()["index_version"]


def _snapshot(corpus_dir):
    return {p.name: p.read_bytes() for p in corpus_dir.iterdir() if p.is_file()}


def test_add_then_ask_then_replace_then_remove(admin, corpus_dir):
    before = _version(admin)
    reply = admin.post("/api/documents", headers=TOKEN, json={"documents": [NOTE]})
    data = reply.get_json()
    assert reply.status_code == 200, data
    assert data["status"] == "rebuilt" and data["changes"]["added"] == ["green-finance-2024"]
    assert data["index_version"] != before and _version(admin) == data["index_version"]
    assert data["build"]["encoded"] > 0 and data["build"]["reused"] > 0   # only the new text encoded
    ask = admin.post("/api/ask", json={"question": "green bond working group", "k": 1}).get_json()
    assert ask["citations"] and ask["citations"][0]["doc_id"] == "green-finance-2024"
    ids = [d["doc_id"] for d in admin.get("/api/documents").get_json()["documents"]]
    assert "green-finance-2024" in ids

    same = admin.post("/api/documents", headers=TOKEN, json={"documents": [NOTE]}).get_json()
    assert same["status"] == "unchanged" and same["build"] is None
    assert same["index_version"] == data["index_version"]

    changed = dict(NOTE, text="Hong Kong and Chongqing will open a green finance office.")
    replaced = admin.post("/api/documents", headers=TOKEN, json={"documents": [changed]}).get_json()
    assert replaced["changes"]["replaced"] == ["green-finance-2024"]

    removed = admin.delete("/api/documents/green-finance-2024", headers=TOKEN).get_json()
    assert removed["changes"]["removed"] == ["green-finance-2024"]
    assert not (corpus_dir / "green-finance-2024.md").exists()
    assert admin.delete("/api/documents/green-finance-2024", headers=TOKEN).status_code == 404


def test_multipart_upload_of_html(admin):
    html = (b"<html><head><title>Youth forum | Example</title></head><body><nav>Home | News</nav>"
            b"<article><h1>Youth forum</h1><p>A youth forum on innovation was held in Chongqing in "
            b"July 2024 with students from Hong Kong.</p></article><footer>Copyright</footer></body></html>")
    reply = admin.post("/api/documents", headers=TOKEN, content_type="multipart/form-data",
                       data={"files": (io.BytesIO(html), "youth-forum.html")})
    assert reply.status_code == 200, reply.get_json()
    docs = {d["doc_id"]: d for d in admin.get("/api/documents").get_json()["documents"]}
    assert docs["youth-forum"]["title"] == "Youth forum"
    ask = admin.post("/api/ask", json={"question": "youth forum on innovation", "k": 1}).get_json()
    assert "Copyright" not in ask["citations"][0]["text"] and "Home" not in ask["citations"][0]["text"]


@pytest.mark.parametrize("kwargs,status", [
    ({"json": {"documents": [dict(NOTE, text="   ")]}}, 400),                       # no text
    ({"json": {"documents": [dict(NOTE, id="../../etc/passwd")]}}, 400),            # path in id
    ({"json": {"documents": [dict(NOTE, date="yesterday")]}}, 400),
    ({"json": {"documents": [NOTE, dict(NOTE, id="ok-doc", text=5)]}}, 400),        # one bad: none added
    ({"content_type": "multipart/form-data",
      "data": {"files": (io.BytesIO(b"MZ\x00\x01"), "tool.exe")}}, 400),             # unsupported type
    ({"content_type": "multipart/form-data",
      "data": {"files": (io.BytesIO(b"caf\xe9"), "latin1.txt")}}, 400),              # undecodable
    ({"content_type": "multipart/form-data",
      "data": {"files": (io.BytesIO(b"---\ntitle: [oops\n---\nText."), "bad.md")}}, 400),
    ({"content_type": "multipart/form-data",
      "data": {"files": (io.BytesIO(b"x" * 9 * 1024 * 1024), "huge.txt")}}, 413),   # over the limit
    ({"data": "id=1", "content_type": "text/plain"}, 415),
])
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(admin, corpus_dir, kwargs, status):
    before, files = _version(admin), _snapshot(corpus_dir)
    reply = admin.post("/api/documents", headers=TOKEN, **kwargs)
    assert reply.status_code == status
    assert reply.get_json()["error"]["message"]
    assert _snapshot(corpus_dir) == files and _version(admin) == before


def test_rebuild_endpoint(admin):
    before = _version(admin)
    reply = admin.post("/api/index/rebuild", headers=TOKEN).get_json()
    assert reply["status"] == "rebuilt" and reply["index_version"] != before
    assert reply["build"]["encoded"] == 0   # nothing new to encode
    full = admin.post("/api/index/rebuild", headers=TOKEN, json={"full": True}).get_json()
    assert full["build"]["encoded"] > 0
    assert admin.post("/api/index/rebuild", headers=TOKEN, json={"fast": 1}).status_code == 400


def test_every_process_switches_to_a_new_version_between_requests(app, corpus_dir, index_dir, fake_encoder):
    holder = app.extensions["accord"]
    old_bot = holder.get()
    (corpus_dir / "extra.txt").write_text("A brand new text about the Western Science City.")
    report = build_index(corpus_dir, index_dir, fake_encoder)
    new_bot = holder.get()
    assert new_bot.index.version == report.version != old_bot.index.version
    # A request that started on the old version finishes on it.
    assert old_bot.ask("HKEX exchanges")["took_ms"] >= 0
    health = app.test_client().get("/api/health").get_json()
    assert health["index_version"] == report.version and health["worker"] > 0


def test_a_corrupted_new_version_is_refused_and_the_old_one_kept(app, corpus_dir, index_dir, fake_encoder):
    holder = app.extensions["accord"]
    serving = holder.get().index.version
    (corpus_dir / "extra.txt").write_text("Another text about Chongqing youth exchanges.")
    # Publish a version, then damage it before any worker loads it.
    report = build_index(corpus_dir, index_dir, fake_encoder)
    path = current_dir(index_dir) / VECTORS
    path.write_bytes(path.read_bytes()[:64])
    assert holder.get().index.version == serving != report.version
    assert "passages.faiss" in holder.problem
    assert app.test_client().post("/api/ask", json={"question": "HKEX"}).status_code == 200
