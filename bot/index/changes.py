"""Changing the corpus folder (add, replace, remove documents) and rebuilding, all or nothing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from . import journal
from .build import LOCK_WAIT, BuildReport, Progress, Stage, build_locked, index_lock, parse_new
from ..embedding.encoder import Encoder
from ..errors import DocumentError, DocumentNotFound
from .versions import new_version_name
from ..corpus.limits import ReadLimits
from ..corpus.reading import SUFFIXES, check_doc_id, check_url, corpus_files, doc_id_for, url_file_for

FIELDS = {"id", "title", "text", "source", "date", "url"}


@dataclass
class NewDocument:
    doc_id: str
    suffix: str      # .txt, .md, .html, .pdf or .docx: how the bytes are read
    raw: bytes
    name: str        # where it came from, for messages
    url: str = ""    # given beside the file (an upload's `url`): kept in `<id>.url` next to it


def from_json(item: Any, position: int = 0) -> NewDocument:
    """A document given as {"id", "title", "text", "source", "date"}, stored as Markdown."""
    where = f"documents[{position}]"
    if not isinstance(item, Mapping):
        raise DocumentError(f"{where} must be an object with 'id' and 'text'")
    unknown = set(item) - FIELDS
    if unknown:
        raise DocumentError(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
    for key in FIELDS:
        if key in item and not isinstance(item[key], str):
            raise DocumentError(f"{where}.{key} must be a string")
    doc_id = check_doc_id(item.get("id", ""))
    text = item.get("text", "")
    if not text.strip():
        raise DocumentError(f"{where} ({doc_id}): 'text' is empty")
    date = item.get("date", "")
    if date:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise DocumentError(f"{where} ({doc_id}): 'date' must look like 2024-06-01") from None
    check_url(item.get("url", ""), f"{where} ({doc_id})")
    meta = {k: item[k] for k in ("title", "date", "source", "url") if item.get(k)}
    head = f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n" if meta else ""
    return NewDocument(doc_id, ".md", (head + text.strip() + "\n").encode("utf-8"), where)


def from_upload(filename: str, raw: bytes, url: str = "") -> NewDocument:
    """An uploaded or given file: its name gives the id and how it is read; `url` (http or
    https) is where it is published, which its citations then name."""
    path = Path(filename or "")
    if path.name != filename or not path.suffix:
        raise DocumentError(f"{filename!r}: give a plain file name such as note.md (no folders)")
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(f"{filename}: unsupported file type {path.suffix}; use one of "
                            f"{', '.join(SUFFIXES)}")
    url = check_url(url.strip(), filename)
    return NewDocument(check_doc_id(doc_id_for(path)), path.suffix.lower(), raw, filename, url)


def _files_by_id(corpus_dir: Path) -> dict[str, list[Path]]:
    """Every document file by its id, from one listing of the folder (not one per document)."""
    found: dict[str, list[Path]] = {}
    for path in corpus_files(corpus_dir):
        found.setdefault(doc_id_for(path), []).append(path)
    return found


@dataclass
class Outcome:
    report: BuildReport | None        # None when nothing changed and nothing was built
    changes: dict[str, list[str]]     # added, replaced, removed, unchanged document ids


def update(corpus_dir: Path, index_dir: Path, encoder: Encoder, add: Sequence[NewDocument] = (),
           remove: Sequence[str] = (), rebuild: bool = False, full: bool = False,
           progress: Progress | None = None,
           wait: float = LOCK_WAIT, on_wait: Callable[[], None] | None = None,
           on_stage: Stage | None = None, job: str | None = None,
           on_settled: journal.Settled | None = None,
           settings: Mapping[str, Any] | None = None) -> Outcome:
    """Add, replace and remove documents, then build: all or nothing, even if killed.

    Every document is parsed before anything is written, so bad input changes nothing.
    Adding a document identical to the one with its id changes nothing and builds nothing.
    `rebuild` builds even without changes; `full` then re-encodes everything. The change is
    journalled (bot/index/journal.py) before the corpus is touched, so a failure, or a kill at any
    point, ends with corpus and index both old or both new. `on_stage` is told "journalled"
    and "corpus written" besides the build's stages; `job` names the admin job it runs for."""
    ids = [d.doc_id for d in add]
    if len(set(ids)) != len(ids):
        raise DocumentError("the same document id is given twice")
    remove = list(dict.fromkeys(check_doc_id(doc_id) for doc_id in remove))
    if set(ids) & set(remove):
        raise DocumentError("a document id is both added and removed")
    # Read once: the build after the change takes these instead of reading the files again.
    limits = ReadLimits.from_settings(settings)
    read = dict(parse_new(doc.raw, doc.doc_id, doc.name, doc.suffix, limits) for doc in add)
    stage = on_stage or (lambda name: None)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with index_lock(index_dir, wait, on_wait, on_settled) as waited:
        changes: dict[str, list[str]] = {"added": [], "replaced": [], "removed": [], "unchanged": []}
        writes: list[tuple[Path, bytes]] = []
        drops: list[Path] = []
        files = _files_by_id(corpus_dir)
        for doc_id in remove:
            found = files.get(doc_id, [])
            if not found:
                raise DocumentNotFound(f"no document has the id {doc_id!r}")
            drops.extend(found)
            drops.extend(p for p in [url_file_for(found[0])] if p.is_file())
            changes["removed"].append(doc_id)
        for doc in add:
            target = corpus_dir / f"{doc.doc_id}{doc.suffix}"
            url_file = url_file_for(target)
            old_url = url_file.read_text("utf-8", "replace").strip() if url_file.is_file() else ""
            old = files.get(doc.doc_id, [])
            if old == [target] and target.read_bytes() == doc.raw and old_url == doc.url:
                changes["unchanged"].append(doc.doc_id)
                continue
            drops.extend(p for p in old if p != target)
            writes.append((target, doc.raw))
            # The document is replaced as given: with its url, or without the old one.
            if doc.url:
                writes.append((url_file, f"{doc.url}\n".encode("utf-8")))
            elif url_file.is_file():
                drops.append(url_file)
            changes["replaced" if old else "added"].append(doc.doc_id)
        if not writes and not drops and not rebuild:
            return Outcome(None, changes)

        change = journal.begin(index_dir, corpus_dir, new_version_name(), writes, drops, job)
        stage("journalled")
        try:
            change.apply()
            stage("corpus written")
            report = build_locked(corpus_dir, index_dir, encoder, progress, full=full,
                                  on_stage=on_stage, version=change.version, read=read,
                                  settings=settings)
        except BaseException:
            # The version was not published (or was, if the failure came after): settle by that.
            journal.settle(index_dir, change, on_settled)
            raise
        change.close()
        report.waited = waited
        return Outcome(report, changes)
