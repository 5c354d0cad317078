"""Changing the corpus folder (add, replace, remove documents) and rebuilding, all or nothing."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from .build import LOCK_WAIT, BuildReport, Progress, Stage, build_locked, index_lock
from .encoder import Encoder
from .errors import DocumentError, DocumentNotFound
from .texts import SUFFIXES, check_doc_id, corpus_files, doc_id_for, parse_document

FIELDS = {"id", "title", "text", "source", "date"}


@dataclass
class NewDocument:
    doc_id: str
    suffix: str      # .txt, .md or .html: how the bytes are read
    raw: bytes
    name: str        # where it came from, for messages


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
    meta = {k: item[k] for k in ("title", "date", "source") if item.get(k)}
    head = f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n" if meta else ""
    return NewDocument(doc_id, ".md", (head + text.strip() + "\n").encode("utf-8"), where)


def from_upload(filename: str, raw: bytes) -> NewDocument:
    """An uploaded or given file: its name gives the id and how it is read."""
    path = Path(filename or "")
    if path.name != filename or not path.suffix:
        raise DocumentError(f"{filename!r}: give a plain file name such as note.md (no folders)")
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(f"{filename}: unsupported file type {path.suffix}; use one of "
                            f"{', '.join(SUFFIXES)}")
    return NewDocument(check_doc_id(doc_id_for(path)), path.suffix.lower(), raw, filename)


def _files_of(corpus_dir: Path, doc_id: str) -> list[Path]:
    return [p for p in corpus_files(corpus_dir) if doc_id_for(p) == doc_id]


def _write_atomically(path: Path, raw: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Outcome:
    report: BuildReport | None        # None when nothing changed and nothing was built
    changes: dict[str, list[str]]     # added, replaced, removed, unchanged document ids


def update(corpus_dir: Path, index_dir: Path, encoder: Encoder, add: Sequence[NewDocument] = (),
           remove: Sequence[str] = (), rebuild: bool = False, full: bool = False,
           progress: Progress | None = None,
           wait: float = LOCK_WAIT, on_wait: Callable[[], None] | None = None,
           on_stage: Stage | None = None) -> Outcome:
    """Add, replace and remove documents, then build; on any failure the corpus is put back.

    Every document is parsed before anything is written, so bad input changes nothing.
    Adding a document identical to the one with its id changes nothing and builds nothing.
    `rebuild` builds even without changes; `full` then re-encodes everything."""
    ids = [d.doc_id for d in add]
    if len(set(ids)) != len(ids):
        raise DocumentError("the same document id is given twice")
    for doc in add:
        parse_document(doc.raw, doc.doc_id, name=doc.name, suffix=doc.suffix)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with index_lock(index_dir, wait, on_wait) as waited:
        changes: dict[str, list[str]] = {"added": [], "replaced": [], "removed": [], "unchanged": []}
        writes: list[tuple[Path, bytes]] = []
        drops: list[Path] = []
        for doc_id in remove:
            found = _files_of(corpus_dir, check_doc_id(doc_id))
            if not found:
                raise DocumentNotFound(f"no document has the id {doc_id!r}")
            drops.extend(found)
            changes["removed"].append(doc_id)
        for doc in add:
            target = corpus_dir / f"{doc.doc_id}{doc.suffix}"
            old = _files_of(corpus_dir, doc.doc_id)
            if old == [target] and target.read_bytes() == doc.raw:
                changes["unchanged"].append(doc.doc_id)
                continue
            drops.extend(p for p in old if p != target)
            writes.append((target, doc.raw))
            changes["replaced" if old else "added"].append(doc.doc_id)
        if not writes and not drops and not rebuild:
            return Outcome(None, changes)

        backup = Path(tempfile.mkdtemp(dir=corpus_dir, prefix=".backup-"))
        saved: list[tuple[Path, Path]] = []
        try:
            for path in {*drops, *(t for t, _ in writes if t.exists())}:
                copy = backup / path.name
                shutil.copy2(path, copy)
                saved.append((path, copy))
            for path in drops:
                path.unlink()
            for target, raw in writes:
                _write_atomically(target, raw)
            report = build_locked(corpus_dir, index_dir, encoder, progress, full=full,
                                  on_stage=on_stage)
            report.waited = waited
            return Outcome(report, changes)
        except BaseException:
            for target, _ in writes:
                target.unlink(missing_ok=True)
            for path, copy in saved:
                shutil.copy2(copy, path)
            raise
        finally:
            shutil.rmtree(backup, ignore_errors=True)
