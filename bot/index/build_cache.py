"""What builds reuse: embeddings by (model, text) and parsed documents by file content (SQLite)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

from ..corpus.limits import DEFAULT_LIMITS, ReadLimits

CACHE_FILE = "build-cache.sqlite"
PARSE_VERSION = "10"   # bump when reading, cleaning or splitting changes: old entries then miss
# Settings that change what reading a file gives; part of each document's cache key.
PARSE_SETTINGS = ("MAX_DOCUMENT_BYTES", "MAX_FRONT_MATTER_BYTES", "MAX_META_CHARS",
                  "MAX_SENTENCE_CHARS", "MAX_PASSAGE_CHARS", "MAX_HTML_ATTRIBUTES",
                  "MAX_ORIGINAL_BYTES", "MAX_PDF_PAGES", "OCR_LANGUAGES", "OCR_DPI")
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")   # error names that mean the file itself is bad
SIDE_FILES = ("", "-journal", "-wal", "-shm")

log = logging.getLogger("accord")
T = TypeVar("T")


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    return (getattr(exc, "sqlite_errorname", None) or "").startswith(DAMAGED)


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def model_key(probe: Sequence[float], dimension: int) -> str:
    """A model's identity from its embedding of a fixed text (rounded: stable across runs)."""
    rounded = ",".join(f"{x:.3f}" for x in probe)
    return hashlib.sha256(f"{dimension}:{rounded}".encode()).hexdigest()[:16]


class BuildCache:
    """One SQLite file in the index folder; only builds use it, under the build lock."""

    def __init__(self, index_dir: Path, model: str, dimension: int) -> None:
        self.path = index_dir / CACHE_FILE
        self.model, self.dimension = model, dimension
        self.reading = True   # False: a full build, which only writes
        self._db: sqlite3.Connection | None = None
        self._guard(self._open, self._open)

    def _open(self) -> None:
        self._db = sqlite3.connect(str(self.path))
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key BLOB, vector BLOB,"
            " PRIMARY KEY (model, key));"
            "CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, passages TEXT);")
        # A model change invalidates the cache: vectors of other models are dropped, not mixed.
        self._db.execute("DELETE FROM embeddings WHERE model != ?", (self.model,))
        self._db.commit()

    def _guard(self, work: Callable[[], T], then: Callable[[], T]) -> T:
        """`work`; if the file turns out damaged, set it aside, start an empty cache, `then`.

        A cache only saves time, so a damaged one (a disk fault, a truncated copy) must not
        stop builds: they go on without it and fill the new one."""
        try:
            return work()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            self._set_aside(exc)
            self._open()
            return then()

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        for old in self.path.parent.glob(f"{self.path.name}.damaged-*"):
            old.unlink(missing_ok=True)   # keep one damaged copy to look at, not one per fault
        for suffix in SIDE_FILES:   # a journal left beside it must not be replayed into the new file
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, Path(f"{aside}{suffix}"))
        log.warning("build cache %s is damaged (%s); set aside as %s, builds go on with a new one",
                    self.path, exc, aside.name)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def vectors(self, texts: Sequence[str]) -> dict[bytes, np.ndarray]:
        """Cached vectors of those texts that have one, by text key."""
        return self._guard(lambda: self._vectors(texts), dict)

    def _vectors(self, texts: Sequence[str]) -> dict[bytes, np.ndarray]:
        keys = list({text_key(t) for t in texts})
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN "
                f"({','.join('?' * len(chunk))})", (self.model, *chunk))
            for key, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape == (self.dimension,):
                    found[key] = vec
        return found

    def store_vectors(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        def store() -> None:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                ((self.model, text_key(t), np.ascontiguousarray(v, np.float32).tobytes())
                 for t, v in zip(texts, vectors)))
            self._db.commit()
        self._guard(store, store)

    def document(self, key: str) -> dict | None:
        """A parsed document ({"meta", "passages"}) stored under its file's key."""
        row = self._guard(lambda: self._db.execute(
            "SELECT passages FROM documents WHERE key = ?", (key,)).fetchone(), lambda: None)
        try:
            parsed = json.loads(row[0]) if row else None
        except (TypeError, ValueError):
            return None   # a damaged entry is a miss: the file is read again
        ok = isinstance(parsed, dict) and isinstance(parsed.get("meta"), dict) \
            and isinstance(parsed.get("passages"), list)
        return parsed if ok else None

    def store_documents(self, items: Sequence[tuple[str, dict]]) -> None:
        """Parsed documents under their files' keys, in one transaction: a commit per document
        (a sync each) made adding thousands of small files take seconds in commits alone."""
        def store() -> None:
            self._db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?)",
                                 ((key, json.dumps(parsed, ensure_ascii=False))
                                  for key, parsed in items))
            self._db.commit()
        if items:
            self._guard(store, store)


def document_key(doc_id: str, name: str, raw: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> str:
    given = limits
    limits_text = ",".join(str(getattr(given, k.lower())) for k in PARSE_SETTINGS)
    if name.lower().endswith(".pdf"):
        from ..corpus.ocr import engine
        # installing tesseract reads the scanned pages it skipped
        limits_text += f",{engine(given.ocr_languages)}"
    return hashlib.sha256(f"{PARSE_VERSION}\0{limits_text}\0{doc_id}\0{name}\0".encode()
                          + raw).hexdigest()
