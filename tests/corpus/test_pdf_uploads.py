"""Uploads of PDFs through the admin API: a `url` given with the file reaches the citations, and
an uploaded PDF is read once (validation and build share the reading)."""
from __future__ import annotations

import io
import time

import pytest

from .. import pdf_samples as samples

TOKEN = {"Authorization": "Bearer adm1n"}
PORTS_QUESTION = "Which port handled more containers than any other port?"


@pytest.fixture
def patient(monkeypatch):
    """Admin changes answer with their outcome however busy the machine (no 202 job)."""
    monkeypatch.setattr("bot.web.admin.SYNC_WAIT", 300.0)


@pytest.fixture(scope="module")
def text_pdf() -> bytes:
    return samples.sample_pdf(scanned=False)


def _upload(admin, files, **form):
    return admin.post("/api/documents", headers=TOKEN, content_type="multipart/form-data",
                      data={"files": files, **form})


def test_upload_with_a_url_then_citations_carry_it(admin, corpus_dir, text_pdf, patient):
    reply = _upload(admin, (io.BytesIO(text_pdf), "report.pdf"), url="https://example.org/report.pdf")
    assert reply.status_code == 200, reply.get_json()
    listed = {d["doc_id"]: d for d in admin.get("/api/documents").get_json()["documents"]}
    assert listed["report"]["url"] == "https://example.org/report.pdf"
    answer = admin.post("/api/ask", json={"question": PORTS_QUESTION}).get_json()
    cited = next(c for c in answer["citations"] if c["doc_id"] == "report")
    # The citation still opens this server's viewer at the page, and names where it was published.
    assert cited["url"].startswith("/viewer/report?page=2")
    assert cited["document_url"] == "https://example.org/report.pdf"
    viewer = admin.get(cited["url"])
    assert b'href="https://example.org/report.pdf"' in viewer.data
    # The same file with the same url again changes nothing; a new url is a change of the document.
    again = _upload(admin, (io.BytesIO(text_pdf), "report.pdf"), url="https://example.org/report.pdf")
    assert again.get_json()["status"] == "unchanged"
    moved = _upload(admin, (io.BytesIO(text_pdf), "report.pdf"), url="https://example.org/v2.pdf")
    assert moved.get_json()["changes"]["replaced"] == ["report"]
    listed = {d["doc_id"]: d for d in admin.get("/api/documents").get_json()["documents"]}
    assert listed["report"]["url"] == "https://example.org/v2.pdf"
    # Removing the document removes its url with it: nothing of it is left in the corpus folder.
    assert admin.delete("/api/documents/report", headers=TOKEN).status_code == 200
    assert sorted(p.name for p in corpus_dir.iterdir()) == ["small-doc.md"]


def test_upload_of_a_text_file_with_a_url_gets_a_text_fragment(admin, patient):
    text = b"Ferries will sail every hour between the two ports, the bureau said.\n"
    reply = _upload(admin, (io.BytesIO(text), "ferries.txt"), url="https://example.org/ferries")
    assert reply.status_code == 200, reply.get_json()
    answer = admin.post("/api/ask", json={"question": "How often will ferries sail between the two ports?"}).get_json()
    cited = next(c for c in answer["citations"] if c["doc_id"] == "ferries")
    assert cited["url"].startswith("https://example.org/ferries#:~:text=")
    assert cited["document_url"] == "https://example.org/ferries"


@pytest.mark.parametrize("form, message", [
    ({"url": "javascript:alert(1)"}, "http://"),
    ({"url": "https://example.org/" + "a" * 5000}, "http://"),
    ({"url": ["https://example.org/a", "https://example.org/b"]}, "one url per file"),
])
def test_upload_with_a_bad_url_is_a_400_and_changes_nothing(admin, corpus_dir, text_pdf, form,
                                                           message, patient):
    before = sorted(p.name for p in corpus_dir.iterdir())
    version = admin.get("/api/health").get_json()["index_version"]
    reply = _upload(admin, (io.BytesIO(text_pdf), "report.pdf"), **form)
    assert reply.status_code == 400, reply.get_json()
    error = reply.get_json()["error"]
    assert error["code"] == "bad_request" and message in error["message"]
    assert sorted(p.name for p in corpus_dir.iterdir()) == before
    assert admin.get("/api/health").get_json()["index_version"] == version


def test_a_corpus_pdf_takes_its_url_from_a_url_file_beside_it(corpus_dir, tmp_path, fake_encoder,
                                                              text_pdf):
    from bot.index.build import build_index
    (corpus_dir / "report.pdf").write_bytes(text_pdf)
    (corpus_dir / "report.url").write_text("https://example.org/report.pdf\n", encoding="utf-8")
    (corpus_dir / "bad.md").write_text("Some text about ports.\n", encoding="utf-8")
    (corpus_dir / "bad.url").write_text("file:///etc/passwd\n", encoding="utf-8")
    report = build_index(corpus_dir, tmp_path / "idx", fake_encoder)
    import json
    from bot.index.versions import CURRENT
    manifest = json.loads(((tmp_path / "idx" / CURRENT).resolve() / "manifest.json").read_text())
    docs = {d["doc_id"]: d for d in manifest["corpus"]["documents"]}
    assert docs["report"]["url"] == "https://example.org/report.pdf"
    assert "bad" not in docs and any("bad.url" in reason for _, reason in report.skipped)


# --- an upload is read once ------------------------------------------------------------------

def test_an_uploaded_pdf_is_read_once(admin, monkeypatch, patient):
    from bot.corpus import pdf_reader
    pdf = samples.long_pdf(12)
    calls = []
    real = pdf_reader.read
    monkeypatch.setattr(pdf_reader, "read", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    started = time.perf_counter()
    reply = _upload(admin, (io.BytesIO(pdf), "long.pdf"))
    took = time.perf_counter() - started
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["changes"]["added"] == ["long"]
    assert calls == ["long.pdf"], calls
    print(f"upload of a 12-page PDF: {took:.2f}s")
