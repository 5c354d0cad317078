"""A citation of a PDF passage opens the original at its page with the sentence marked, from
the chat page and from the widget on another site (pdf.js served by the app itself)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.index.build import build_index

from .. import pdf_samples as samples
from ..fakes import FakeEncoder

try:
    from playwright.sync_api import expect
except ImportError:  # CI must have it (see conftest)
    if os.environ.get("CI"):
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

QUESTION = "Which port handled more containers than any other port in the world?"
SENTENCE = "Shanghai's port handled more containers than any other port in the world."
PDFJS = Path(__file__).resolve().parents[2] / "node_modules" / "pdfjs-dist" / "build" / "pdf.min.mjs"


@pytest.fixture(scope="module")
def pdf_index(tmp_path_factory) -> tuple[Path, Path]:
    if not PDFJS.is_file():
        if os.environ.get("CI"):
            pytest.fail("pdf.js is not installed (scripts/setup.sh runs npm ci)", pytrace=False)
        pytest.skip("pdf.js is not installed (scripts/setup.sh)")
    corpus = tmp_path_factory.mktemp("pdf-corpus")
    (corpus / "report.pdf").write_bytes(samples.sample_pdf(scanned=False))
    index = tmp_path_factory.mktemp("pdf-index")
    build_index(corpus, index, FakeEncoder())
    return corpus, index


@pytest.fixture
def pdf_server(pdf_index, serve_app, other_site, monkeypatch):
    from bot.qa import engine
    from ..conftest import FAKE_ENCODER_MODEL
    # The fake encoder's cosines need the words-only abstention model (tests/conftest.py).
    monkeypatch.setattr(engine, "load_model", lambda *path: dict(FAKE_ENCODER_MODEL))
    corpus, index = pdf_index
    return serve_app({"CORPUS_DIR": str(corpus), "INDEX_DIR": str(index), "ENCODER": FakeEncoder(),
                      "ALLOWED_ORIGINS": other_site.url, "RATE_LIMIT": "1000/minute"})


def _ask(page, question: str):
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    answer = page.locator(".ac-log > .ac-bot:not(.ac-greeting):not(.ac-loading)").first
    expect(answer).to_be_visible()
    return answer


def _open_citation(page, answer, server_url: str):
    card = answer.locator(".ac-source").filter(has_text="Shanghai's port").first
    expect(card.locator(".ac-meta")).to_contain_text("p. 2")
    link = card.locator("a.ac-link")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    errors: list[str] = []
    viewer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    assert viewer.url.startswith(server_url + "/viewer/report?page=2")
    main = viewer.locator("#viewer")
    expect(main).to_have_attribute("data-marked", "1", timeout=20_000)
    expect(viewer.locator("#where")).to_have_text("Page 2 of 4")
    marked = " ".join(viewer.locator(".textLayer mark").all_text_contents())
    assert " ".join(marked.split()) == SENTENCE
    expect(viewer.locator(".textLayer mark").first).to_be_in_viewport()
    assert not errors, errors   # nothing refused by the CSP, nothing fetched elsewhere
    return viewer


def test_page_citation_opens_the_pdf_at_the_sentence(page, pdf_server, shot):
    page.goto(pdf_server.url + "/")
    answer = _ask(page, QUESTION)
    viewer = _open_citation(page, answer, pdf_server.url)
    viewer.screenshot(path=str(shot("chat").parent / "viewer.png"))
    assert not page.errors, page.errors


EMBED = """<!doctype html>
<html><head><meta charset="utf-8"><title>Partner site</title><link rel="icon" href="data:,"></head>
<body><h1>Partner site</h1>
<script src="{api}/widget.js" async data-title="Ask the agreements"></script>
</body></html>
"""


def test_widget_citation_opens_the_pdf_on_the_server(page, pdf_server, other_site, site_dir):
    (site_dir / "viewer-embed.html").write_text(EMBED.format(api=pdf_server.url), encoding="utf-8")
    page.goto(other_site.url + "/viewer-embed.html")
    page.get_by_role("button", name="Ask the agreements").click()
    answer = _ask(page, QUESTION)
    _open_citation(page, answer, pdf_server.url)   # on the Accord server, not the partner site


# --- a scanned page: no text layer, the OCR'd words are marked -----------------------------------

@pytest.fixture(scope="module")
def scanned_index(tmp_path_factory) -> tuple[Path, Path]:
    import shutil
    if not PDFJS.is_file():
        pytest.skip("pdf.js is not installed (scripts/setup.sh)")
    if not shutil.which("tesseract"):
        if os.environ.get("CI"):
            pytest.fail("tesseract-ocr is not installed", pytrace=False)
        pytest.skip("tesseract-ocr is not installed")
    corpus = tmp_path_factory.mktemp("scan-corpus")
    (corpus / "scan.pdf").write_bytes(samples.sample_pdf(scanned=True, chinese=False))
    index = tmp_path_factory.mktemp("scan-index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCORD_OCR_LANGUAGES", "eng")
        build_index(corpus, index, FakeEncoder())
    return corpus, index


def test_scanned_page_citation_marks_the_ocr_words(page, scanned_index, serve_app, monkeypatch, shot):
    from urllib.parse import quote
    from bot.qa import engine
    from ..conftest import FAKE_ENCODER_MODEL
    monkeypatch.setattr(engine, "load_model", lambda *path: dict(FAKE_ENCODER_MODEL))
    corpus, index = scanned_index
    server = serve_app({"CORPUS_DIR": str(corpus), "INDEX_DIR": str(index), "ENCODER": FakeEncoder(),
                        "RATE_LIMIT": "1000/minute"})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/viewer/scan?page=4&text={quote(samples.SCANNED)}")
    expect(page.locator("#viewer")).to_have_attribute("data-marked", "1", timeout=20_000)
    expect(page.locator("#where")).to_have_text("Page 4 of 4")
    marks = page.locator(".ocr-mark")
    assert marks.count() == len(samples.SCANNED.split())   # one rectangle a word
    expect(marks.first).to_be_in_viewport()
    # The rectangles lie over the scan (placed at the page's top, below the running header),
    # the first line's words left to right on one line.
    box = page.locator("#page").bounding_box()
    rects = [marks.nth(i).bounding_box() for i in range(marks.count())]
    assert all(box["x"] <= r["x"] and r["x"] + r["width"] <= box["x"] + box["width"] for r in rects)
    assert all(box["y"] + 0.08 * box["height"] < r["y"] < box["y"] + 0.3 * box["height"] for r in rects)
    first_line = rects[:8]
    assert [r["x"] for r in first_line] == sorted(r["x"] for r in first_line)
    assert max(r["y"] for r in first_line) - min(r["y"] for r in first_line) < rects[0]["height"]
    shot("viewer-scanned")
    assert not errors, errors
