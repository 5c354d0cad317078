"""Originals of PDF and Word documents, kept by content next to the index versions, and the
links a citation gives to open one (or a document's own page) at the cited sentence."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

ORIGINALS = "originals"
TYPES = {".pdf": "application/pdf",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
NAME = re.compile(r"[0-9a-f]{64}\.(pdf|docx)")
FRAGMENT_WORDS = 5   # a long sentence is found by its first and last words (start,end)
MAX_HIGHLIGHT_CHARS = 600


def keep(index_dir: Path, raw: bytes, suffix: str) -> str:
    """Store the file under its sha256 (once; a version that cites it keeps finding it) and
    return the stored name."""
    name = f"{hashlib.sha256(raw).hexdigest()}{suffix.lower()}"
    folder = index_dir / ORIGINALS
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, target)   # readers see the whole file or none
    return name


WORDS = ".words.json"   # beside an original: the word boxes of its scanned pages


def keep_words(index_dir: Path, name: str, words: dict[str, list]) -> None:
    """Store the OCR word boxes of the original `name` beside it (replaced when they differ:
    another OCR engine or language reads the same file into other words)."""
    raw = json.dumps(words, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    target = index_dir / ORIGINALS / f"{name}{WORDS}"
    if target.is_file() and target.read_bytes() == raw:
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, target)


def words_of(index_dir: Path, name: str, page: int) -> list:
    """The OCR word boxes of one page of the original `name` ([] for a page with a text
    layer, or when none were kept)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return []
    try:
        words = json.loads((index_dir / ORIGINALS / f"{name}{WORDS}").read_text("utf-8"))
    except (OSError, ValueError):
        return []
    page_words = words.get(str(page)) if isinstance(words, dict) else None
    return page_words if isinstance(page_words, list) else []


def path_of(index_dir: Path, name: str) -> Path | None:
    """The stored file of a manifest's `original` name, or None (a name is checked, never a path)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    path = index_dir / ORIGINALS / name
    return path if path.is_file() else None


def viewer_url(root: str, doc_id: str, page: int | None, sentences: list[str]) -> str:
    """The server's viewer at the cited page with the cited sentences to highlight."""
    params: list[tuple[str, str]] = []
    if page:
        params.append(("page", str(page)))
    params += [("text", s[:MAX_HIGHLIGHT_CHARS]) for s in sentences]
    return f"{root}/viewer/{quote(doc_id)}" + (f"?{urlencode(params)}" if params else "")


def _fragment_part(text: str) -> str:
    # Text fragments treat '-', ',' and '&' as syntax: they are percent-encoded like the rest.
    return quote(text, safe="").replace("-", "%2D")


def text_fragment_url(url: str, sentence: str) -> str:
    """`url` with a #:~:text= fragment that makes a browser scroll to and mark the sentence."""
    words = sentence.split()
    if not words or not url:
        return url
    if len(words) > 2 * FRAGMENT_WORDS:
        directive = (_fragment_part(" ".join(words[:FRAGMENT_WORDS])) + ","
                     + _fragment_part(" ".join(words[-FRAGMENT_WORDS:])))
    else:
        directive = _fragment_part(" ".join(words))
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, f":~:text={directive}"))


def citation_url(doc: dict | None, doc_id: str, page: int | None, sentences: list[str],
                 root: str = "") -> str:
    """Where a citation opens: the viewer for a kept original, else the document's own url with
    a text fragment, else ''."""
    if doc and doc.get("original"):
        return viewer_url(root, doc_id, page, sentences)
    url = (doc or {}).get("url") or ""
    return text_fragment_url(url, sentences[0]) if url and sentences else url
