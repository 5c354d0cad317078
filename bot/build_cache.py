"""What builds reuse: embeddings by (model, text) and parsed documents by file content (SQLite)."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

CACHE_FILE = "build-cache.sqlite"
PARSE_VERSION = "4"   # bump when reading, cleaning or splitting changes: old entries then miss


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
        self._db = sqlite3.connect(str(self.path))
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key BLOB, vector BLOB,"
            " PRIMARY KEY (model, key));"
            "CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, passages TEXT);")
        # A model change invalidates the cache: vectors of other models are dropped, not mixed.
        self._db.execute("DELETE FROM embeddings WHERE model != ?", (model,))
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def vectors(self, texts: Sequence[str]) -> dict[bytes, np.ndarray]:
        """Cached vectors of those texts that have one, by text key."""
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
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
            ((self.model, text_key(t), np.ascontiguousarray(v, np.float32).tobytes())
             for t, v in zip(texts, vectors)))
        self._db.commit()

    def document(self, key: str) -> dict | None:
        """A parsed document ({"meta", "passages"}) stored under its file's key."""
        row = self._db.execute("SELECT passages FROM documents WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def store_document(self, key: str, parsed: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)",
                         (key, json.dumps(parsed, ensure_ascii=False)))
        self._db.commit()


def document_key(doc_id: str, name: str, raw: bytes) -> str:
    return hashlib.sha256(f"{PARSE_VERSION}\0{doc_id}\0{name}\0".encode() + raw).hexdigest()
