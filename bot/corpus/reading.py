"""Reading source files into documents: front matter, encoding checks, cleaning."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cleaning import Block, clean
from ..errors import DocumentError
from .limits import DEFAULT_LIMITS, ReadLimits

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
HTML_SUFFIXES = (".html", ".htm")
ORIGINAL_SUFFIXES = (".pdf", ".docx")   # read by their own readers and kept as originals
URL = re.compile(r"https?://[^\s<>\"']{1,2000}", re.IGNORECASE)
# `<doc id>.url` beside a document holds its url: how a PDF, a .docx (no front matter) or an
# upload given a `url` carries one. Not a document itself (not in SUFFIXES).
URL_FILE = ".url"
MAX_URL_FILE_BYTES = 4096
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")   # used with fullmatch: no "\n" at the end


@dataclass
class Document:
    id: str
    title: str
    source: str
    date: str
    blocks: list[Block] = field(default_factory=list)
    url: str = ""
    extra: dict = field(default_factory=dict)   # pages, ocr_pages, unread_pages of a PDF
    # Scanned pages' word boxes (page -> [[text, left, top, right, bottom], ...] in fractions
    # of the page): kept beside the original for the viewer, not in the manifest.
    ocr_words: dict = field(default_factory=dict)

    def meta(self) -> dict:
        meta = {"doc_id": self.id, "title": self.title, "source": self.source, "date": self.date}
        if self.url:
            meta["url"] = self.url
        return {**meta, **self.extra}


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


# The same boundary python-frontmatter splits on; only YAML front matter is read.
FM_BOUNDARY = re.compile(r"^-{3,}\s*$", re.MULTILINE)
META_FIELDS = ("title", "source", "date", "url")
MAX_YAML_DEPTH = 16   # front matter is flat 'key: value' lines; deeper nesting is an attack
ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
NULL_TAG = "tag:yaml.org,2002:null"
MESSAGE_CHARS = 300   # an unexpected error's text in a reason, so a reason stays one line


class _FrontMatterLoader(yaml.SafeLoader):
    """Composes YAML into nodes and never constructs values: no aliases or anchors (they are
    how a few hundred bytes expand to megabytes), no deep nesting."""

    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise DocumentError("YAML anchors and aliases ('&' and '*') are not allowed")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise DocumentError(f"nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter or None, body), as python-frontmatter splits them (both stripped)."""
    text = text.strip()
    if not FM_BOUNDARY.match(text):
        return None, text
    parts = FM_BOUNDARY.split(text, 2)
    if len(parts) < 3:   # no closing line: it is all body
        return None, text
    return parts[1], parts[2].strip()


def _meta_nodes(fm: str, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, yaml.Node]:
    """The title, source and date nodes of the front matter (other keys are checked, not read)."""
    limit = int(limits.max_front_matter_bytes)
    if len(fm.encode("utf-8")) > limit:
        raise DocumentError(f"{name}: front matter is larger than {limit} bytes "
                            "(ACCORD_MAX_FRONT_MATTER_BYTES)")
    loader = _FrontMatterLoader(fm)
    try:
        root = loader.get_single_node()
    except DocumentError as exc:
        raise DocumentError(f"{name}: front matter refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise DocumentError(f"{name}: malformed front matter{where}; "
                            "it must be 'key: value' lines between two '---' lines") from None
    finally:
        loader.dispose()
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == NULL_TAG):
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise DocumentError(f"{name}: front matter must be 'key: value' lines")
    nodes = {}
    for key, value in root.value:   # a repeated key: the last one counts, as in a dict
        if isinstance(key, yaml.ScalarNode) and key.value in META_FIELDS:
            nodes[key.value] = value
    return nodes


def _meta_text(node: yaml.Node | None, field_name: str, name: str,
               limits: ReadLimits = DEFAULT_LIMITS) -> str:
    """A field's text as written (`title: 2024` is "2024"); null is empty; lists are refused."""
    if node is None or node.tag == NULL_TAG:
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise DocumentError(f"{name}: front matter '{field_name}' must be text, not a list or mapping")
    value = node.value.strip()
    limit = int(limits.max_meta_chars)
    if len(value) > limit:
        raise DocumentError(f"{name}: front matter '{field_name}' is longer than {limit} characters "
                            "(ACCORD_MAX_META_CHARS)")
    return value


def _check_date(value: str, name: str) -> str:
    """A date that looks like one must be a real one: 2023-05-11, or 2023-05-11 10:30:00."""
    if not ISO_DATE.match(value):
        return value   # 'May 2023' stays as written
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        return dt.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise DocumentError(f"{name}: front matter 'date' {value!r} is not a real date or time; "
                            "write it like 2024-06-01 (or 2024-06-01 14:30)") from None


def check_url(value: str, name: str) -> str:
    """A document's url: http(s) only, so a link made of it cannot run script."""
    if value and not URL.fullmatch(value):
        raise DocumentError(f"{name}: 'url' must be an http:// or https:// address, not {value[:80]!r}")
    return value


def url_file_for(path: Path) -> Path:
    """Where the url of the document file `path` is kept, when it has one of its own."""
    return path.with_name(doc_id_for(path) + URL_FILE)


def read_url_file(path: Path) -> str:
    """The url in the `.url` file beside the document `path` ('' without one); a bad one is a
    DocumentError naming the file."""
    url_path = url_file_for(path)
    if not url_path.is_file():
        return ""
    with open(url_path, "rb") as f:
        raw = f.read(MAX_URL_FILE_BYTES + 1)
    if len(raw) > MAX_URL_FILE_BYTES:
        raise DocumentError(f"{url_path.name}: larger than {MAX_URL_FILE_BYTES} bytes; "
                            "it holds one url")
    return check_url(raw.decode("utf-8", "replace").strip(), url_path.name)


def _cut(text: str, limit: int) -> str:
    """A title or source taken from the text itself, cut at a word boundary to the limit."""
    if len(text) <= limit:
        return text
    head = text[:limit + 1]
    space = head.rfind(" ", limit // 2)
    return (head[:space] if space > 0 else head[:limit]).rstrip()


def _size_limit(suffix: str, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[int, str]:
    key = "MAX_ORIGINAL_BYTES" if suffix.lower() in ORIGINAL_SUFFIXES else "MAX_DOCUMENT_BYTES"
    return int(getattr(limits, key.lower())), key


def _check_size(raw: bytes | str, name: str, suffix: str = ".txt",
                limits: ReadLimits = DEFAULT_LIMITS) -> None:
    limit, key = _size_limit(suffix, limits)
    # A str is at most 4 bytes a character: only a long one is encoded to be measured.
    size = len(raw) if isinstance(raw, bytes) else (
        len(raw) if len(raw) * 4 <= limit else len(raw.encode("utf-8", "surrogatepass")))
    if size > limit:
        raise DocumentError(f"{name}: the file is {size:,} bytes, larger than the {limit:,} bytes allowed "
                            f"(ACCORD_{key})")


def parse_document(raw: bytes | str, doc_id: str, name: str | None = None,
                   suffix: str = ".txt", limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Parse one text (optional front matter, then the body) into a cleaned document.

    Any failure, expected or not, is a DocumentError naming the file, so that one bad file
    is skipped by a build and refused with a 400 by the admin API, never a crash."""
    name = name or doc_id
    check_doc_id(doc_id)
    try:
        return _parse(raw, doc_id, name, suffix, limits)
    except DocumentError:
        raise
    except Exception as exc:   # a library's bug or limit met by one hostile file
        detail = " ".join(str(exc).split())[:MESSAGE_CHARS]
        raise DocumentError(f"{name}: cannot be read ({type(exc).__name__}: {detail})") from None


def _parse_original(raw: bytes, doc_id: str, name: str, suffix: str,
                    limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """A PDF or .docx, read in a bounded child process (bot/pdf_reader.py)."""
    from .pdf_reader import read
    if not raw.strip():
        raise DocumentError(f"{name}: the file is empty")
    got = read(raw, name, "pdf" if suffix.lower() == ".pdf" else "docx", limits)
    blocks = [Block(b["text"], heading=b["heading"], page=b.get("page"), page_end=b.get("page_end"))
              for b in got["blocks"]]
    limit = int(limits.max_meta_chars)
    title = _cut(got.get("title") or next((b.text for b in blocks if b.heading), doc_id), limit)
    extra = {k: got[k] for k in ("pages", "ocr_pages", "unread_pages") if k in got}
    return Document(id=doc_id, title=title, source="", date="", blocks=blocks, extra=extra,
                    ocr_words=got.get("ocr_words") or {})


def _parse(raw: bytes | str, doc_id: str, name: str, suffix: str,
           limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    _check_size(raw, name, suffix, limits)
    if suffix.lower() in ORIGINAL_SUFFIXES:
        if not isinstance(raw, bytes):
            raise DocumentError(f"{name}: a {suffix} file must be given as bytes")
        return _parse_original(raw, doc_id, name, suffix, limits)
    text = _decode(raw, name) if isinstance(raw, bytes) else raw
    if not text.strip():
        raise DocumentError(f"{name}: the file is empty")
    limit = int(limits.max_meta_chars)
    if suffix.lower() in HTML_SUFFIXES:
        from .html import extract
        page = extract(text, name, limits.max_html_attributes)
        blocks = clean(page.text, title=page.title)
        if not blocks:
            raise DocumentError(f"{name}: no text left after removing page furniture")
        # The page's canonical address, when it names one (http or https only).
        url = page.url if URL.fullmatch(page.url) else ""
        return Document(id=doc_id, title=_cut(page.title, limit) or doc_id,
                        source=_cut(page.source, limit), date=_cut(page.date, limit), blocks=blocks,
                        url=url)
    fm, body = _split_front_matter(text)
    nodes = _meta_nodes(fm, name, limits) if fm is not None else {}
    title = _meta_text(nodes.get("title"), "title", name, limits)
    source = _meta_text(nodes.get("source"), "source", name, limits)
    date = _check_date(_meta_text(nodes.get("date"), "date", name, limits), name)
    url = check_url(_meta_text(nodes.get("url"), "url", name, limits), name)
    blocks = clean(body, title=title)
    if not blocks:
        raise DocumentError(f"{name}: no text left after removing page furniture")
    if not title:
        title = _cut(next((b.text for b in blocks if b.heading), doc_id), limit)
    return Document(id=doc_id, title=title, source=source, date=date, blocks=blocks, url=url)


def read_document(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Read a .txt or .md file; raises DocumentError naming the file when it cannot."""
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                            f"use one of {', '.join(SUFFIXES)}")
    return parse_document(read_bytes(path, limits), doc_id_for(path), name=path.name, suffix=path.suffix,
                          limits=limits)


def read_bytes(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """A source file's bytes; one over the size bound is refused before it is read."""
    limit, key = _size_limit(path.suffix, limits)
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be read ({exc.strerror})") from None
    if len(raw) > limit:
        raise DocumentError(f"{path.name}: the file is larger than the {limit:,} bytes allowed "
                            f"(ACCORD_{key})")
    return raw


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder, in a stable order."""
    if not corpus_dir.is_dir():
        raise DocumentError(f"corpus folder {corpus_dir} does not exist")
    return sorted(p for p in corpus_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def read_corpus(corpus_dir: Path, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[list[Document], list[tuple[str, str]]]:
    """Every readable document, and (file name, reason) for each file skipped."""
    docs, skipped = [], []
    for path in corpus_files(corpus_dir):
        try:
            docs.append(read_document(path, limits))
        except DocumentError as exc:
            skipped.append((path.name, str(exc)))
    return docs, skipped
