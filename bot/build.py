"""Building an index version from a corpus folder: read, split, encode, save, check, publish."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock, Timeout

from .corpus_index import CorpusIndex
from .encoder import Encoder, probe_vector
from .errors import AccordError, BuildLocked
from .lexical import LexicalIndex
from .passages import Passage, split_corpus
from .store import new_version_name, publish, staging_dir, verify, write_manifest
from .texts import corpus_files, read_corpus
from .variants import VARIANTS_FILE, load_table, prepare
from .vectors import VectorIndex

LOCK_FILE = ".build.lock"
BATCH = 64


@dataclass
class BuildReport:
    version: str
    documents: int
    passages: int
    sentences: int
    seconds: float
    skipped: list[tuple[str, str]] = field(default_factory=list)
    folder: Path | None = None


def index_text(p: Passage) -> str:
    """What retrieval sees of a passage: the section heading gives a short passage its topic,
    the paragraph's opening sentence tells who "she" is in a passage that continues it."""
    return " ".join(part for part in (p.section and p.section + ":", p.context, p.text) if part)


def corpus_fingerprint(corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir) + [corpus_dir / VARIANTS_FILE]:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("accord-bot", "sentence-transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def encode_all(encoder: Encoder, texts: list[str], progress: Callable[[int], None] | None) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        parts.append(encoder.encode(batch, batch_size=BATCH))
        if progress:
            progress(len(batch))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dimension), np.float32)


def build_index(corpus_dir: Path, index_dir: Path, encoder: Encoder,
                progress: Callable[[int, int], Callable[[int], None]] | None = None) -> BuildReport:
    """Build a new version of the index and make it current; the old one serves until then.

    `progress(total, ...)` may return a callback that is told how many texts were encoded."""
    started = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLocked(f"another build is running on {index_dir} (lock {index_dir / LOCK_FILE}); "
                          "wait for it to finish") from None
    try:
        docs, skipped = read_corpus(corpus_dir)
        if not docs:
            raise AccordError(f"no readable .txt or .md documents in {corpus_dir}")
        passages = split_corpus(docs)
        variants = prepare(load_table(corpus_dir / VARIANTS_FILE), passages)
        sentences = [s for p in passages for s in p.sentence_texts()]
        tick = progress(len(passages) + len(sentences)) if progress else None
        passage_vectors = encode_all(encoder, [index_text(p) for p in passages], tick)
        sentence_vectors = encode_all(encoder, sentences, tick)

        version = new_version_name()
        staged = staging_dir(index_dir, version)
        try:
            built = CorpusIndex(folder=staged, manifest={}, passages=passages,
                                vectors=VectorIndex.build(passage_vectors),
                                sentence_vectors=sentence_vectors,
                                lexical=LexicalIndex.build([index_text(p) for p in passages]),
                                variants=variants)
            built.save(staged)
            probe = probe_vector(encoder)
            counts = {d.id: 0 for d in docs}
            for p in passages:
                counts[p.doc_id] += 1
            write_manifest(staged, {
                "version": version,
                "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "model": {"name": encoder.name, "dimension": encoder.dimension, "probe": probe},
                "index_type": "flat-ip",
                "libraries": _versions(),
                "corpus": {"dir": str(corpus_dir), "fingerprint": corpus_fingerprint(corpus_dir),
                           "documents": [{**d.meta(), "passages": counts[d.id]} for d in docs],
                           "skipped": [{"file": f, "reason": r} for f, r in skipped]},
                "passages": len(passages),
                "sentences": len(sentences),
            })
            _check(staged, encoder, probe)
            folder = publish(index_dir, staged, version)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return BuildReport(version=version, documents=len(docs), passages=len(passages),
                           sentences=len(sentences), seconds=time.perf_counter() - started,
                           skipped=skipped, folder=folder)
    finally:
        lock.release()


def _check(staged: Path, encoder: Encoder, probe: list[float]) -> None:
    """A version is published only if it loads and a probe query finds a passage."""
    manifest = verify(staged, model_probe=probe, dimension=encoder.dimension)
    loaded = CorpusIndex.load(staged, manifest)
    scores, ids = loaded.vectors.search(encoder.encode([loaded.passages[0].text]), 1)
    if ids.shape[1] == 0 or ids[0, 0] < 0:
        raise AccordError(f"the new index in {staged} failed its probe query; it was not published")
