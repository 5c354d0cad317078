"""PDF and Word documents: passages with pages and sections, tables, OCR of scanned pages,
originals and the citation links that open them, and the bad files that change nothing."""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from bot.index.build import build_index
from bot.errors import DocumentError
from bot.corpus.passages import split_document
from bot.corpus.limits import ReadLimits
from bot.corpus.reading import parse_document
from bot.settings import load

from .. import pdf_samples as samples

needs_ocr = pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract-ocr is not installed")


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return samples.sample_pdf()


@pytest.fixture(scope="module")
def pdf_passages(sample_pdf):
    doc = parse_document(sample_pdf, "report", name="report.pdf", suffix=".pdf")
    return doc, split_document(doc)


def _passage_with(passages, text):
    found = [p for p in passages if text in p.text]
    assert found, f"no passage has {text!r}: {[p.text for p in passages]}"
    return found[0]


def test_pdf_passages_know_their_page_and_section(pdf_passages):
    doc, passages = pdf_passages
    intro = _passage_with(passages, "signed a new cooperation agreement in May 2024")
    assert (intro.page, intro.section) == (1, "Financial Cooperation")
    ports = _passage_with(passages, "Shanghai's port handled more containers than any other port")
    assert (ports.page, ports.section) == (2, "Transport")
    assert doc.title == "Financial Cooperation"


def test_pdf_drops_running_header_and_page_numbers(pdf_passages):
    _, passages = pdf_passages
    text = " ".join(p.text for p in passages)
    assert samples.HEADER not in text
    assert not any(p.text.strip().isdigit() for p in passages)


def test_pdf_joins_a_word_hyphenated_across_lines(pdf_passages):
    _, passages = pdf_passages
    assert "a joint committee on financial services" in " ".join(p.text for p in passages)


def test_pdf_two_columns_are_read_one_after_the_other(pdf_passages):
    _, passages = pdf_passages
    text = " ".join(p.text for p in passages)
    left = "The left column talks about ports. Shanghai's port handled more containers than any other port in the world."
    right = "The right column talks about airports. Hong Kong's airport is a hub for cargo flights across Asia."
    assert left in text and right in text


def test_pdf_table_rows_read_with_their_headings(pdf_passages):
    _, passages = pdf_passages
    row = _passage_with(passages, "Sector: Trade; Target: 50 billion yuan; Year: 2026.")
    assert (row.page, row.section) == (3, "Targets")
    assert "Sector: Finance; Target: 30 projects; Year: 2025." in row.sentence_texts()


def test_pdf_chinese_page(pdf_passages):
    _, passages = pdf_passages
    page = _passage_with(passages, "沪港两地签署了新的合作协议。")
    assert page.page == 5
    assert page.sentence_texts() == ["沪港两地签署了新的合作协议。", "双方将加强金融合作。"]


@needs_ocr
def test_scanned_page_is_read_by_ocr(pdf_passages):
    doc, passages = pdf_passages
    scanned = _passage_with(passages, "exchange young scientists")
    assert scanned.page == 4
    assert doc.extra["ocr_pages"] == [4]


def test_scanned_page_without_ocr_is_reported_by_name(monkeypatch, tmp_path, fake_encoder):
    monkeypatch.setenv("PATH", str(tmp_path))   # no tesseract to be found
    from bot.corpus import ocr
    ocr._installed.cache_clear()
    try:
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        (corpus / "report.pdf").write_bytes(samples.sample_pdf())
        report = build_index(corpus, tmp_path / "index", fake_encoder)
        assert report.ocr_pages == 0
        assert report.unread_pages == [{"file": "report.pdf", "page": 4, "reason": ocr.INSTALL_HINT}]
        assert "tesseract-ocr" in report.summary()["unread_pages"][0]["reason"]
        # a PDF that is all scans is refused, naming what to install
        only_scan = samples._pdf()
        only_scan.add_page()
        buf = io.BytesIO()
        samples.text_image(samples.SCANNED).save(buf, format="PNG")
        only_scan.image(buf, x=40, y=80, w=515)
        with pytest.raises(DocumentError, match="apt-get install tesseract-ocr"):
            parse_document(bytes(only_scan.output()), "scan", name="scan.pdf", suffix=".pdf")
    finally:
        ocr._installed.cache_clear()


def test_docx_paragraphs_headings_and_table():
    doc = parse_document(samples.sample_docx(), "agreement", name="agreement.docx", suffix=".docx")
    passages = split_document(doc)
    assert doc.title == "Cooperation Agreement"
    intro = _passage_with(passages, "signed a new cooperation agreement")
    assert intro.section == "Cooperation Agreement" and intro.page is None
    row = _passage_with(passages, "Sector: Finance; Target: 30 projects; Year: 2025.")
    assert row.section == "Targets"


@pytest.mark.parametrize("make, message", [
    (lambda: b"%PDF-1.7\n" + b"not really a pdf" * 10, "damaged or not a PDF"),
    (lambda: b"<html>hello</html>", "not a PDF"),
    (lambda: b"\x00" * 100, "not a PDF"),
])
def test_bad_pdfs_are_refused_clearly(make, message):
    with pytest.raises(DocumentError, match=message):
        parse_document(make(), "bad", name="bad.pdf", suffix=".pdf")


def test_encrypted_pdf_is_refused():
    from fpdf import FPDF
    pdf = samples._pdf()
    pdf.add_page()
    pdf.text(60, 90, "A secret agreement text.")
    pdf.set_encryption(owner_password="owner", user_password="user")
    with pytest.raises(DocumentError, match="encrypted"):
        parse_document(bytes(pdf.output()), "secret", name="secret.pdf", suffix=".pdf")
    assert FPDF


def test_pdf_over_the_page_limit_is_refused():
    with pytest.raises(DocumentError, match="5 pages, more than the 3 allowed"):
        parse_document(samples.sample_pdf(scanned=True), "long", name="long.pdf", suffix=".pdf",
                       limits=ReadLimits(max_pdf_pages=3))


def _flate_bomb_pdf(size: int) -> bytes:
    """A one-page PDF whose content stream inflates to `size` bytes of spaces."""
    import zlib
    packer, chunk = zlib.compressobj(1), b" " * (1 << 24)
    stream = b"".join(packer.compress(chunk) for _ in range(size >> 24)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_decompression_bomb_in_a_pdf_stream_fails_in_its_bounds():
    bomb = _flate_bomb_pdf(1024 * 1024 * 1024)   # 1 GiB of spaces in a file of a few MB
    assert len(bomb) < 8 * 1024 * 1024
    with pytest.raises(DocumentError, match="ran out of memory"):
        parse_document(bomb, "bomb", name="bomb.pdf", suffix=".pdf",
                       limits=ReadLimits(pdf_memory_bytes=400 * 1024 * 1024))


def test_docx_zip_bomb_is_refused_before_inflating():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<" + b" " * (20 * 1024 * 1024) + b"/>")
    with pytest.raises(DocumentError, match="decompression bomb"):
        parse_document(buf.getvalue(), "bomb", name="bomb.docx", suffix=".docx")


def test_legacy_doc_is_unsupported_naming_the_types():
    from bot.index.changes import from_upload
    with pytest.raises(DocumentError, match=r"unsupported file type \.doc; use one of .*\.pdf, \.docx"):
        from_upload("old.doc", b"\xd0\xcf\x11\xe0")
    with pytest.raises(DocumentError, match="not a .docx"):
        parse_document(b"\xd0\xcf\x11\xe0" * 100, "old", name="old.docx", suffix=".docx")


# --- builds, originals, citations -------------------------------------------------------------

@pytest.fixture(scope="module")
def text_pdf() -> bytes:
    return samples.sample_pdf(scanned=False)


@pytest.fixture
def pdf_corpus(corpus_dir: Path, text_pdf) -> Path:
    return _fill(corpus_dir, text_pdf)


def _fill(corpus_dir: Path, text_pdf: bytes) -> Path:
    (corpus_dir / "report.pdf").write_bytes(text_pdf)
    (corpus_dir / "agreement.docx").write_bytes(samples.sample_docx())
    (corpus_dir / "web-note.md").write_text(
        "---\ntitle: A web note\nurl: https://example.org/note\n---\n"
        "The web note says that ferries will sail every hour between the two ports.\n",
        encoding="utf-8")
    return corpus_dir


@pytest.fixture(scope="module")
def pdf_app(tmp_path_factory, text_pdf):
    """One app over a PDF, a .docx and a web note, shared by the tests that only read it."""
    from bot import create_app
    from bot.qa import engine
    from ..conftest import FAKE_ENCODER_MODEL, SMALL_DOC
    from ..fakes import FakeEncoder
    patch = pytest.MonkeyPatch()   # the fake encoder's cosines need the words-only model
    patch.setattr(engine, "load_model", lambda *path: dict(FAKE_ENCODER_MODEL))
    corpus = tmp_path_factory.mktemp("pdf-corpus")
    (corpus / "small-doc.md").write_text(SMALL_DOC, encoding="utf-8")
    _fill(corpus, text_pdf)
    index = tmp_path_factory.mktemp("pdf-index")
    encoder = FakeEncoder()
    report = build_index(corpus, index, encoder)
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(index),
                      "ENCODER": encoder, "RATE_LIMIT": "1000/minute"})
    app.build_report = report
    yield app
    patch.undo()


@needs_ocr
def test_build_summary_counts_ocr_pages(corpus_dir, tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setenv("ACCORD_OCR_LANGUAGES", "eng")
    (corpus_dir / "scan.pdf").write_bytes(samples.long_pdf(2, scanned_every=2))
    report = build_index(corpus_dir, tmp_path / "idx", fake_encoder, settings=load())
    assert report.summary()["ocr_pages"] == 1 and report.unread_pages == []


def test_build_keeps_originals(pdf_app, text_pdf):
    assert pdf_app.build_report.summary()["ocr_pages"] == 0
    client = pdf_app.test_client()
    got = client.get("/api/documents/report/original")
    assert got.status_code == 200
    assert got.mimetype == "application/pdf" and got.data == text_pdf
    assert "sandbox" in got.headers["Content-Security-Policy"]
    docx = client.get("/api/documents/agreement/original")
    assert docx.status_code == 200 and docx.data == samples.sample_docx() or docx.data[:2] == b"PK"
    assert client.get("/api/documents/web-note/original").status_code == 404
    assert client.get("/api/documents/nothing/original").status_code == 404


def test_old_version_still_serves_its_original(pdf_corpus, tmp_path, fake_encoder, text_pdf):
    from bot.index.versions import CURRENT
    index = tmp_path / "idx"
    build_index(pdf_corpus, index, fake_encoder)
    first = (index / CURRENT).resolve()
    (pdf_corpus / "report.pdf").write_bytes(samples.sample_pdf(scanned=False, chinese=False))
    report = build_index(pdf_corpus, index, fake_encoder)
    # a page less: the other pages' passages keep their vectors, nothing is encoded again
    assert report.changed == ["report"] and report.encoded == 0
    old = json.loads((first / "manifest.json").read_text())
    name = next(d["original"] for d in old["corpus"]["documents"] if d["doc_id"] == "report")
    assert (index / "originals" / name).read_bytes() == text_pdf


def test_rebuilding_the_same_pdf_reads_nothing_again(pdf_corpus, tmp_path, fake_encoder, monkeypatch):
    index = tmp_path / "idx"
    build_index(pdf_corpus, index, fake_encoder)
    from bot.corpus import pdf_reader
    calls = []
    real = pdf_reader.read
    monkeypatch.setattr(pdf_reader, "read", lambda *a, **k: calls.append(a) or real(*a, **k))
    report = build_index(pdf_corpus, index, fake_encoder)
    assert calls == [] and report.encoded == 0


def test_citation_of_a_pdf_passage_has_page_and_viewer_url(pdf_app):
    client = pdf_app.test_client()
    reply = client.post("/api/ask", json={"question": "Which port handled more containers than any other port?"}).get_json()
    cited = [c for c in reply["citations"] if c["doc_id"] == "report"]
    assert cited, reply
    c = cited[0]
    assert c["page"] == 2
    assert c["url"].startswith("/viewer/report?page=2&text=")
    page = client.get(c["url"])
    assert page.status_code == 200 and b'data-page="2"' in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_citation_of_a_web_document_has_a_text_fragment(pdf_app):
    client = pdf_app.test_client()
    reply = client.post("/api/ask", json={"question": "How often will ferries sail between the two ports?"}).get_json()
    c = next(c for c in reply["citations"] if c["doc_id"] == "web-note")
    assert c["url"].startswith("https://example.org/note#:~:text=The%20web%20note%20says%20that,hour%20between%20the%20two%20ports.")
    assert "page" not in c


def test_docx_viewer_marks_the_cited_sentence(pdf_app):
    client = pdf_app.test_client()
    page = client.get("/viewer/agreement?text=Sector%3A%20Finance%3B%20Target%3A%2030%20projects%3B%20Year%3A%202025.")
    assert page.status_code == 200
    assert b"<mark>Sector: Finance; Target: 30 projects; Year: 2025.</mark>" in page.data


def test_pdfjs_is_served_from_disk_and_nothing_else(pdf_app):
    client = pdf_app.test_client()
    installed = Path(__file__).resolve().parents[2] / "node_modules/pdfjs-dist/build/pdf.min.mjs"
    if not installed.is_file():
        pytest.skip("pdf.js is not installed (scripts/setup.sh)")
    lib = client.get("/pdfjs/build/pdf.min.mjs")
    assert lib.status_code == 200 and "javascript" in lib.mimetype
    for bad in ("/pdfjs/../package.json", "/pdfjs/package.json", "/pdfjs/build/../../../etc/passwd",
                "/pdfjs/types/src/pdf.d.ts"):
        assert client.get(bad).status_code == 404, bad


def test_a_heading_at_the_top_of_every_page_is_a_section_not_a_running_header():
    doc = parse_document(samples.long_pdf(3), "long", name="long.pdf", suffix=".pdf")
    passages = split_document(doc)
    assert [(p.page, p.section) for p in passages] == [(1, "Section 1"), (2, "Section 2"), (3, "Section 3")]
    assert samples.HEADER not in " ".join(p.text for p in passages)


TOKEN = {"Authorization": "Bearer adm1n"}


@pytest.fixture(autouse=False)
def patient(monkeypatch):
    """Admin changes answer with their outcome however busy the machine (no 202 job)."""
    monkeypatch.setattr("bot.web.admin.SYNC_WAIT", 300.0)


def test_admin_upload_of_a_docx_and_a_pdf_then_citations_open_them(admin, text_pdf, patient):
    reply = admin.post("/api/documents", headers=TOKEN, content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(text_pdf), "report.pdf"),
                                       (io.BytesIO(samples.sample_docx()), "agreement.docx")]})
    assert reply.status_code == 200, reply.get_json()
    assert sorted(reply.get_json()["changes"]["added"]) == ["agreement", "report"]
    listed = {d["doc_id"]: d for d in admin.get("/api/documents").get_json()["documents"]}
    assert listed["report"]["pages"] == 4
    assert listed["report"]["original"] == "/api/documents/report/original"
    assert admin.get("/api/documents/report/original").data == text_pdf


def test_admin_json_document_with_a_url(admin, patient):
    reply = admin.post("/api/documents", headers=TOKEN, json={"documents": [
        {"id": "note", "text": "Ferries will sail every hour between the two ports.",
         "url": "https://example.org/note"}]})
    assert reply.status_code == 200, reply.get_json()
    listed = {d["doc_id"]: d for d in admin.get("/api/documents").get_json()["documents"]}
    assert listed["note"]["url"] == "https://example.org/note"
    bad = admin.post("/api/documents", headers=TOKEN, json={"documents": [
        {"id": "note2", "text": "x y z.", "url": "javascript:alert(1)"}]})
    assert bad.status_code == 400 and "http://" in bad.get_json()["error"]["message"]


@pytest.mark.parametrize("name, data, message", [
    ("bad.pdf", b"%PDF-1.7\n" + b"junk" * 50, "damaged or not a PDF"),
    ("fake.pdf", b"GIF89a" + b"\x00" * 50, "not a PDF"),
    ("old.doc", b"\xd0\xcf\x11\xe0" * 20, "unsupported file type .doc"),
])
def test_admin_upload_of_a_bad_file_is_a_400_and_changes_nothing(admin, corpus_dir, name, data, message,
                                                                 patient):
    before = sorted(p.name for p in corpus_dir.iterdir())
    version = admin.get("/api/health").get_json()["index_version"]
    reply = admin.post("/api/documents", headers=TOKEN, content_type="multipart/form-data",
                       data={"files": (io.BytesIO(data), name)})
    assert reply.status_code == 400
    assert message in reply.get_json()["error"]["message"]
    assert sorted(p.name for p in corpus_dir.iterdir()) == before
    assert admin.get("/api/health").get_json()["index_version"] == version


def test_an_html_page_names_its_url():
    html = ("<html><head><title>Ferries</title><link rel='canonical' href='https://example.org/ferries'>"
            "</head><body><article><h1>Ferries</h1><p>" + "Ferries will sail every hour between the "
            "two ports, the transport bureau said on Monday. " * 3 + "</p></article></body></html>")
    doc = parse_document(html.encode(), "ferries", name="ferries.html", suffix=".html")
    assert doc.url == "https://example.org/ferries"
    bad = html.replace("https://example.org/ferries", "javascript:alert(1)")
    assert parse_document(bad.encode(), "ferries", name="ferries.html", suffix=".html").url == ""
