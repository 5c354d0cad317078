"""A scanned PDF page keeps the boxes of its OCR'd words, which the viewer marks (a scanned page
has no text layer for pdf.js to mark)."""
from __future__ import annotations

import json
import shutil
from urllib.parse import quote

import pytest

from bot.index.build import build_index

from .. import pdf_samples as samples

pytestmark = pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract-ocr is not installed")


@pytest.fixture
def scanned_app(corpus_dir, tmp_path, fake_encoder, monkeypatch):
    from bot import create_app
    monkeypatch.setenv("ACCORD_OCR_LANGUAGES", "eng")
    (corpus_dir / "report.pdf").write_bytes(samples.sample_pdf(scanned=True, chinese=False))
    index = tmp_path / "idx"
    build_index(corpus_dir, index, fake_encoder)
    return create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index),
                       "ENCODER": fake_encoder, "RATE_LIMIT": "1000/minute"}), index


def test_ocr_word_boxes_are_kept_beside_the_original(scanned_app):
    _, index = scanned_app
    [kept] = list((index / "originals").glob("*.pdf.words.json"))
    words = json.loads(kept.read_text())
    assert list(words) == ["4"]   # only the scanned page
    by_text = {w[0]: w[1:] for w in words["4"]}
    assert "scientists." in by_text and "exchange" in by_text
    for left, top, right, bottom in by_text.values():
        assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
    # "exchange" starts the second line of the scan: below and left of "cities" on the first
    assert by_text["exchange"][1] > by_text["cities"][3] and by_text["exchange"][0] < by_text["cities"][0]


def test_viewer_of_a_scanned_page_gives_its_words_to_mark(scanned_app):
    app, _ = scanned_app
    client = app.test_client()
    page = client.get(f"/viewer/report?page=4&text={quote(samples.SCANNED)}")
    assert page.status_code == 200
    assert b"data-words=" in page.data and b"scientists." in page.data
    # A page with a text layer is marked by pdf.js: no word boxes are sent for it.
    assert b"data-words=" not in client.get("/viewer/report?page=2&text=x").data
