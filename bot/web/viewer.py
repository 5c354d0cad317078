"""The originals of PDF and Word documents, and the same-origin viewer that opens one at a
cited page with the cited sentences highlighted (pdf.js, served from pdfjs-dist on disk)."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, send_file

from ..index import originals
from ..service import holder
from .errors import ApiError
from .headers import PAGE_CSP

bp = Blueprint("viewer", __name__)

# Only what the viewer loads: the library, its worker, its stylesheet and the data it fetches.
PDFJS_PARTS = ("build", "web", "cmaps", "standard_fonts")
PDFJS_FILE = re.compile(r"[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100}){0,2}")
MAX_TEXTS = 5
PDFJS_MAX_AGE = 86400


def pdfjs_dir() -> Path:
    configured = current_app.config.get("PDFJS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "node_modules" / "pdfjs-dist"


def _index_root() -> Path:
    # Originals live beside the versions (index/originals), by content.
    return Path(holder().bot.index.folder).parent.parent


def _document(doc_id: str) -> tuple[dict, Path | None]:
    """The served version's manifest entry of a document and its kept original (or None)."""
    h = holder()
    h.refresh()
    bot = h.bot
    if bot is None:
        raise ApiError(503, "The index is not available.")
    for doc in bot.index.manifest["corpus"]["documents"]:
        if doc["doc_id"] == doc_id:
            return doc, originals.path_of(_index_root(), doc.get("original", ""))
    raise ApiError(404, f"No document has the id {doc_id!r}.")


def _marked(text: str, texts: list[str]) -> list[tuple[str, bool]]:
    """A passage in (part, cited?) pieces: each cited sentence found in it is marked."""
    spans = sorted((i, i + len(t)) for t in texts if t for i in [text.find(t)] if i >= 0)
    parts, at = [], 0
    for start, end in spans:
        if start >= at:
            parts += [(text[at:start], False), (text[start:end], True)]
            at = end
    return [p for p in parts + [(text[at:], False)] if p[0]]


@bp.get("/api/documents/<doc_id>/original")
def original(doc_id: str):
    """The file the document was read from (PDF or .docx), as it was added."""
    doc, path = _document(doc_id)
    if path is None:
        raise ApiError(404, f"The document {doc_id!r} has no kept original (only PDF and .docx "
                            "files are kept).")
    suffix = path.suffix.lower()
    response = send_file(path, mimetype=originals.TYPES[suffix], conditional=True,
                         download_name=f"{doc_id}{suffix}", as_attachment=suffix != ".pdf",
                         max_age=0, etag=path.stem)
    # A PDF opened by itself runs no script of ours and may not be framed by other sites.
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'; sandbox"
    return response


@bp.get("/viewer/<doc_id>")
def view(doc_id: str):
    """The original at ?page= with every ?text= sentence highlighted (a .docx: its text)."""
    doc, path = _document(doc_id)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) <= 100000 else 1
    texts = [t[:originals.MAX_HIGHLIGHT_CHARS] for t in request.args.getlist("text")[:MAX_TEXTS]]
    kind = path.suffix.lower().lstrip(".") if path else "none"
    passages, words = [], []
    if kind == "pdf" and doc.get("ocr_pages") and page in doc["ocr_pages"]:
        # A scanned page has no text layer: its OCR word boxes are what the viewer marks.
        words = originals.words_of(_index_root(), doc.get("original", ""), page)
    if kind != "pdf":   # a .docx (or a text) is shown as its passages, the cited ones marked
        passages = [_marked(p.text, texts) for p in holder().bot.index.passages if p.doc_id == doc_id]
    html = render_template("viewer.html", doc=doc, page=page, texts=texts, kind=kind,
                           passages=passages, words=words,
                           pdfjs=(pdfjs_dir() / "build" / "pdf.min.mjs").is_file())
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@bp.get("/pdfjs/<path:name>")
def pdfjs(name: str):
    """pdf.js files from the installed pdfjs-dist (never fetched from elsewhere at run time)."""
    part = name.split("/", 1)[0]
    if part not in PDFJS_PARTS or not PDFJS_FILE.fullmatch(name) or ".." in name:
        raise ApiError(404, "No such file.")
    path = pdfjs_dir() / name
    if not path.is_file():
        raise ApiError(404, "No such file (is pdf.js installed? run scripts/setup.sh).")
    mimetype = "text/javascript" if path.suffix == ".mjs" else None
    response = send_file(path, mimetype=mimetype, conditional=True, max_age=PDFJS_MAX_AGE)
    return response
