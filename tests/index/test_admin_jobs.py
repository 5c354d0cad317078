"""Admin changes that take long answer 202 and a job any worker can report on; many documents
are added or removed in one change that lists the corpus folder once; small admin rules."""
import time

import pytest

from bot.index import changes as corpus
from bot import create_app
from bot.index.build import build_index, index_lock
from bot.web import admin as admin_module

TOKEN = {"Authorization": "Bearer adm1n"}
NOTE = {"id": "green-finance-2024", "title": "Green finance talks", "source": "Example wire",
        "text": "Hong Kong and Chongqing agreed to set up a green bond working group in June 2024."}


def _app(corpus_dir, index_dir, encoder):
    return create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                       "ENCODER": encoder, "ADMIN_TOKEN": "adm1n", "RATE_LIMIT": "1000/minute",
                       "ADMIN_RATE_LIMIT": "1000/minute"})


@pytest.fixture
def admin(corpus_dir, index_dir, fake_encoder):
    return _app(corpus_dir, index_dir, fake_encoder).test_client()


def _poll(client, location, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = client.get(location, headers=TOKEN)
        assert job.status_code == 200, job.get_json()
        if job.get_json()["status"] != "running":
            return job.get_json()
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_a_long_change_answers_202_and_any_worker_reports_the_job(admin, corpus_dir, index_dir,
                                                                   fake_encoder, monkeypatch):
    monkeypatch.setattr(admin_module, "SYNC_WAIT", 0.0)
    reply = admin.post("/api/documents", headers=TOKEN, json={"documents": [NOTE]})
    assert reply.status_code == 202, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "running" and reply.headers["Location"] == body["location"]
    assert body["location"] == f"/api/index/jobs/{body['job_id']}"
    # Another worker process (another app over the same index folder) answers the poll.
    other = _app(corpus_dir, index_dir, fake_encoder).test_client()
    job = _poll(other, body["location"])
    assert job["status"] == "done" and job["http_status"] == 200
    assert job["result"]["changes"]["added"] == ["green-finance-2024"]
    assert job["result"]["index_version"] == other.get("/api/health").get_json()["index_version"]
    assert other.get(body["location"]).status_code == 401            # admin only


def test_a_failing_job_reports_the_error_of_the_synchronous_reply(admin, monkeypatch):
    monkeypatch.setattr(admin_module, "SYNC_WAIT", 0.0)
    real_update = corpus.update

    def slower_update(*args, **kwargs):
        time.sleep(0.3)   # a not-found fails at once: it could end before the request looks
        return real_update(*args, **kwargs)
    monkeypatch.setattr(corpus, "update", slower_update)
    reply = admin.delete("/api/documents/no-such-doc", headers=TOKEN)
    assert reply.status_code == 202
    job = _poll(admin, reply.headers["Location"])
    assert job["status"] == "failed" and job["http_status"] == 404
    assert job["error"]["code"] == "not_found" and "no-such-doc" in job["error"]["message"]


@pytest.mark.parametrize("job_id", ["0123456789abcdef", "..%2F..%2Fmanifest", "abc", "x" * 300])
def test_unknown_or_malformed_job_ids_are_404(admin, job_id):
    reply = admin.get(f"/api/index/jobs/{job_id}", headers=TOKEN)
    assert reply.status_code == 404 and reply.get_json()["error"]["code"] == "not_found"


def test_many_documents_are_added_with_one_listing_of_the_corpus_folder(admin, corpus_dir,
                                                                        monkeypatch):
    monkeypatch.setattr(admin_module, "SYNC_WAIT", 120.0)   # the build cache is slow on a busy disk
    listings = []
    real = corpus.corpus_files
    monkeypatch.setattr(corpus, "corpus_files", lambda folder: listings.append(1) or real(folder))
    docs = [{"id": f"note-{n}", "text": f"Note {n}: Chongqing and Hong Kong met on trade."}
            for n in range(300)]
    reply = admin.post("/api/documents", headers=TOKEN, json={"documents": docs})
    assert reply.status_code == 200, reply.get_json()
    assert len(reply.get_json()["changes"]["added"]) == 300
    assert len(listings) == 1


def test_many_documents_are_removed_in_one_change(admin, corpus_dir):
    docs = [{"id": f"note-{n}", "text": f"Note {n}: Chongqing and Hong Kong met on trade."}
            for n in range(5)]
    admin.post("/api/documents", headers=TOKEN, json={"documents": docs})
    before = admin.get("/api/health").get_json()["index_version"]
    # One unknown id: nothing is removed.
    bad = admin.delete("/api/documents", headers=TOKEN, json={"ids": ["note-0", "nope"]})
    assert bad.status_code == 404 and (corpus_dir / "note-0.md").exists()
    assert admin.get("/api/health").get_json()["index_version"] == before
    reply = admin.delete("/api/documents", headers=TOKEN,
                       json={"ids": ["note-0", "note-1", "note-2"]})
    data = reply.get_json()
    assert reply.status_code == 200, data
    assert data["changes"]["removed"] == ["note-0", "note-1", "note-2"]
    assert sorted(data["build"]["removed"]) == ["note-0", "note-1", "note-2"]   # one build
    assert not any((corpus_dir / f"note-{n}.md").exists() for n in range(3))
    for body in ({"ids": []}, {"ids": "note-3"}, {"ids": ["a"], "more": 1}, [1]):
        assert admin.delete("/api/documents", headers=TOKEN, json=body).status_code == 400


def test_a_held_lock_is_a_409_conflict_without_server_paths(admin, index_dir, monkeypatch):
    monkeypatch.setattr(admin_module, "API_LOCK_WAIT", 0.2)
    with index_lock(index_dir):
        reply = admin.post("/api/documents", headers=TOKEN, json={"documents": [NOTE]})
    error = reply.get_json()["error"]
    assert reply.status_code == 409 and error["code"] == "conflict"
    assert str(index_dir) not in error["message"] and "/" not in error["message"]


@pytest.mark.parametrize("doc_id", ["note\n", "note\r\n", "\nnote"])
def test_a_document_id_cannot_end_in_a_newline(admin, corpus_dir, doc_id):
    reply = admin.post("/api/documents", headers=TOKEN, json={"documents": [dict(NOTE, id=doc_id)]})
    assert reply.status_code == 400
    assert sorted(p.name for p in corpus_dir.iterdir()) == ["small-doc.md"]
    assert admin.delete("/api/documents/small-doc%0A", headers=TOKEN).status_code == 400


def test_documents_added_through_the_api_are_readable_by_all(admin, corpus_dir):
    assert admin.post("/api/documents", headers=TOKEN, json={"documents": [NOTE]}).status_code == 200
    assert (corpus_dir / "green-finance-2024.md").stat().st_mode & 0o777 == 0o644


def test_the_chat_page_lists_the_documents_of_the_version_now_served(admin, corpus_dir, index_dir,
                                                                      fake_encoder):
    assert "western-science" not in admin.get("/").get_data(as_text=True)
    (corpus_dir / "western-science.txt").write_text("A text about the Western Science City.")
    build_index(corpus_dir, index_dir, fake_encoder)   # published by another process
    page = admin.get("/").get_data(as_text=True)
    assert "2 documents" in page and "western-science" in page


def test_openapi_describes_jobs_bulk_delete_202_and_conflict(admin):
    spec = admin.get("/openapi.json").get_json()
    assert "/api/index/jobs/{job_id}" in spec["paths"]
    for path, method in (("/api/documents", "post"), ("/api/documents/{doc_id}", "delete"),
                         ("/api/index/rebuild", "post"), ("/api/documents", "delete")):
        responses = spec["paths"][path][method]["responses"]
        assert "202" in responses and "409" in responses
    assert "conflict" in spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
