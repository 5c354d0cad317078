"""Reading source files into documents: front matter, encoding checks, cleaning."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from .cleaning import Block, clean
from .errors import DocumentError

SUFFIXES = (".txt", ".md", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")   # used with fullmatch: no "\n" at the end


@dataclass
class Document:
    id: str
    title: str
    source: str
    date: str
    blocks: list[Block] = field(default_factory=list)

    def meta(self) -> dict[str, str]:
        return {"doc_id": self.id, "title": self.title, "source": self.source, "date": self.date}


def doc_id_for(path: Path) -> str:
    """A document's id is its file name without the suffix."""
    return path.stem


def check_doc_id(doc_id: str) -> str:
    if not isinstance(doc_id, str) or not ID_PATTERN.fullmatch(doc_id):
        raise DocumentError(f"document id {doc_id!r} is not allowed: use letters, digits, '.', '_' "
                            "and '-' (at most 128 characters, no path separators)")
    return doc_id


def _decode(raw: bytes, name: str) -> str:
    if not raw.strip():
        raise DocumentError(f"{name}: the file is empty")
    if b"\x00" in raw:
        raise DocumentError(f"{name}: the file is binary, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def parse_document(raw: bytes | str, doc_id: str, name: str | None = None,
                   suffix: str = ".txt") -> Document:
    """Parse one text (optional front matter, then the body) into a cleaned document."""
    name = name or doc_id
    check_doc_id(doc_id)
    text = _decode(raw, name) if isinstance(raw, bytes) else raw
    if not text.strip():
        raise DocumentError(f"{name}: the file is empty")
    if suffix.lower() in HTML_SUFFIXES:
        from .html import extract
        page = extract(text, name)
        blocks = clean(page.text, title=page.title)
        if not blocks:
            raise DocumentError(f"{name}: no text left after removing page furniture")
        return Document(id=doc_id, title=page.title or doc_id, source=page.source,
                        date=page.date, blocks=blocks)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise DocumentError(f"{name}: malformed front matter{where}; "
                            "it must be 'key: value' lines between two '---' lines") from None
    meta = post.metadata
    if not isinstance(meta, dict):
        raise DocumentError(f"{name}: front matter must be 'key: value' lines")
    title = str(meta.get("title") or "").strip()
    date = meta.get("date") or ""
    date = date.isoformat() if isinstance(date, (dt.date, dt.datetime)) else str(date).strip()
    source = str(meta.get("source") or "").strip()
    blocks = clean(post.content, title=title)
    if not blocks:
        raise DocumentError(f"{name}: no text left after removing page furniture")
    if not title:
        title = next((b.text for b in blocks if b.heading), doc_id)
    return Document(id=doc_id, title=title, source=source, date=date, blocks=blocks)


def read_document(path: Path) -> Document:
    """Read a .txt or .md file; raises DocumentError naming the file when it cannot."""
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                            f"use one of {', '.join(SUFFIXES)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be read ({exc.strerror})") from None
    return parse_document(raw, doc_id_for(path), name=path.name, suffix=path.suffix)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder, in a stable order."""
    if not corpus_dir.is_dir():
        raise DocumentError(f"corpus folder {corpus_dir} does not exist")
    return sorted(p for p in corpus_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def read_corpus(corpus_dir: Path) -> tuple[list[Document], list[tuple[str, str]]]:
    """Every readable document, and (file name, reason) for each file skipped."""
    docs, skipped = [], []
    for path in corpus_files(corpus_dir):
        try:
            docs.append(read_document(path))
        except DocumentError as exc:
            skipped.append((path.name, str(exc)))
    return docs, skipped
