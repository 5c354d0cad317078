"""Building an index version from a corpus folder: read, split, encode, then save, check and
publish through the version transaction (bot/index/versions.py `new_version`).

Builds are incremental: parsed documents and embeddings come from the build cache when the
file or text was seen before, so adding one document re-encodes only its passages."""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from filelock import FileLock, Timeout

from . import journal, originals
from .build_cache import BuildCache, document_key, model_key, text_key
from .loaded import CorpusIndex
from ..embedding.encoder import Encoder, probe_vector
from ..errors import AccordError, BuildLocked, DocumentError
from .bm25 import LexicalIndex
from ..corpus.limits import DEFAULT_LIMITS, ReadLimits
from ..corpus.passages import Passage, split_document
from .versions import CURRENT, new_version, read_manifest, verify
from ..corpus.reading import (ORIGINAL_SUFFIXES, corpus_files, doc_id_for, parse_document,
                             read_bytes, read_url_file)
from ..corpus.variants import COMMON_FILE, VARIANTS_FILE, load_table, prepare
from .dense import VectorIndex

LOCK_FILE = ".build.lock"
BATCH = 64
PARALLEL_PARSE_BYTES = 256 * 1024   # less is read faster than worker processes start
LOCK_WAIT = 600.0   # seconds a build waits for another one to finish before giving up

Stage = Callable[[str], None]
Progress = Callable[[int], Callable[[int], None] | None]


@dataclass
class BuildReport:
    version: str
    documents: int
    passages: int
    sentences: int
    seconds: float
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ocr_pages: int = 0      # PDF pages read by OCR
    unread_pages: list[dict] = field(default_factory=list)   # {"file", "page", "reason"}
    encoded: int = 0        # texts sent to the model
    reused: int = 0         # texts whose vectors came from the cache
    waited: bool = False    # another build held the lock first
    folder: Path | None = None

    def summary(self) -> dict:
        return {"index_version": self.version, "documents": self.documents,
                "passages": self.passages, "added": self.added, "changed": self.changed,
                "removed": self.removed, "unchanged": len(self.unchanged),
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "ocr_pages": self.ocr_pages, "unread_pages": self.unread_pages,
                "encoded": self.encoded, "reused": self.reused,
                "seconds": round(self.seconds, 2)}


def index_text(p: Passage) -> str:
    """What retrieval sees of a passage: the section heading gives a short passage its topic,
    the paragraph's opening sentence tells who "she" is in a passage that continues it."""
    return " ".join(part for part in (p.section and p.section + ":", p.context, p.text) if part)


@contextmanager
def index_lock(index_dir: Path, wait: float = LOCK_WAIT,
               on_wait: Callable[[], None] | None = None,
               on_settled: journal.Settled | None = None) -> Iterator[bool]:
    """Hold the build lock of an index folder; yields True if another build had it first.

    Taking it first settles any admin change a dead process left (bot/index/journal.py)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_FILE))
    waited = False
    try:
        lock.acquire(timeout=0)
    except Timeout:
        waited = True
        if on_wait:
            on_wait()
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            # No path: this message reaches HTTP clients (the 409 of the admin API).
            raise BuildLocked(f"another build is running on this index and did not finish in "
                              f"{wait:.0f}s") from None
    try:
        # Whatever a killed admin change or build left is settled before anything else runs.
        journal.recover(index_dir, on_settled)
        yield waited
    finally:
        lock.release()


def build_index(corpus_dir: Path, index_dir: Path, encoder: Encoder, progress: Progress | None = None,
                full: bool = False, wait: float = LOCK_WAIT, on_wait: Callable[[], None] | None = None,
                on_stage: Stage | None = None, processes: bool = False,
                runner: Any = None, settings: Mapping[str, Any] | None = None) -> BuildReport:
    """Build a new version of the index and make it current; the old one serves until then.

    `full` ignores the build cache. `progress(total)` may return a callback told how many
    texts were encoded. A second build waits for the first (and says so through `on_wait`).
    `processes` lets a big corpus be read on all cores, in spawned processes: only for callers
    whose main module is import-safe (the `accord` command is). `runner` (bot/index/ray_build.py)
    reads and encodes on a Ray cluster. `settings`: the app's or the command line's (the
    reading limits, RAY_ADDRESS); without them, the table's defaults."""
    with index_lock(index_dir, wait, on_wait) as waited:
        report = build_locked(corpus_dir, index_dir, encoder, progress, full, on_stage, processes,
                              runner=runner, settings=settings)
        report.waited = waited
        return report


def _previous_documents(index_dir: Path) -> dict[str, str]:
    """doc_id -> content hash of the version being served (empty when there is none)."""
    try:
        manifest = read_manifest((index_dir / CURRENT).resolve())
    except AccordError:
        return {}
    return {d["doc_id"]: d.get("sha256", "") for d in manifest.get("corpus", {}).get("documents", [])}


def _parse(raw: bytes, doc_id: str, name: str, suffix: str,
           limits: ReadLimits = DEFAULT_LIMITS) -> dict | str:
    """One document read and split ({"meta", "passages"}), or why it cannot be."""
    try:
        doc = parse_document(raw, doc_id, name=name, suffix=suffix, limits=limits)
        got = {"meta": doc.meta(),
               "passages": [p.to_dict() for p in split_document(doc, limits=limits)]}
        return {**got, "ocr_words": doc.ocr_words} if doc.ocr_words else got
    except DocumentError as exc:
        return str(exc)
    except Exception as exc:   # one hostile file is skipped, never the whole build
        return f"{name}: cannot be split into passages ({type(exc).__name__}: {str(exc)[:300]})"


def _parse_all(jobs: list[tuple[bytes, str, str, str]], processes: bool = False,
               limits: ReadLimits = DEFAULT_LIMITS) -> list[dict | str]:
    """`_parse` of every job, in order; with `processes`, on all cores when there is much to
    read (sentence splitting is pure Python, about a fifth of a full build on one core)."""
    cores = os.cpu_count() or 1
    if not processes or cores < 2 or sum(len(j[0]) for j in jobs) < PARALLEL_PARSE_BYTES:
        return [_parse(*job, limits) for job in jobs]
    # spawn, not fork: the builder may hold torch's threads and a server's sockets.
    with ProcessPoolExecutor(max_workers=min(cores, 8),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(partial(_parse, limits=limits), *zip(*jobs), chunksize=max(1, len(jobs) // (4 * cores))))


def parse_new(raw: bytes, doc_id: str, name: str, suffix: str,
              limits: ReadLimits = DEFAULT_LIMITS) -> tuple[str, dict]:
    """A document about to be written to the corpus, read as a build reads it: (its cache key,
    its parsed form) for `build_locked(read=...)`, so a build after the change does not read it
    again (a PDF's reading is a child process of seconds). Raises DocumentError."""
    got = _parse(raw, doc_id, name, suffix, limits)
    if isinstance(got, str):
        raise DocumentError(got)
    return document_key(doc_id, f"{doc_id}{suffix}", raw, limits), got


def _read(corpus_dir: Path, cache: BuildCache | None, skipped: list,
          processes: bool = False, index_dir: Path | None = None,
          runner: Any = None, read: Mapping[str, dict] | None = None,
          limits: ReadLimits = DEFAULT_LIMITS) -> tuple[list[dict], list[Passage]]:
    # (path, doc id, cache key, bytes, parsed document or why not; None: still to be parsed)
    found: list[tuple[Path, str, str, bytes, dict | str | None]] = []
    given = dict(read or {})   # parsed by the caller just before (parse_new), by cache key
    urls: dict[Path, str] = {}   # the url of a `.url` file beside a document overrides its own
    for path in corpus_files(corpus_dir):
        doc_id = doc_id_for(path)
        try:
            raw = read_bytes(path, limits)
            urls[path] = read_url_file(path)
        except DocumentError as exc:   # unreadable, or too large to read at all
            found.append((path, doc_id, "", b"", str(exc)))
            continue
        key = document_key(doc_id, path.name, raw, limits)
        if key in given:
            found.append((path, doc_id, key, raw, None))
            continue
        found.append((path, doc_id, key, raw, cache.document(key) if cache and cache.reading else None))
    jobs = [(raw, doc_id, path.name, path.suffix) for path, doc_id, key, raw, got in found
            if got is None and key not in given]
    parsed = iter(runner.parse_all(jobs, partial(_parse, limits=limits), PARALLEL_PARSE_BYTES)
                  if runner else _parse_all(jobs, processes, limits))
    docs, passages = [], []
    seen: dict[str, str] = {}
    fresh_parsed: list[tuple[str, dict]] = []
    for path, doc_id, key, raw, got in found:
        fresh = got is None
        if fresh:
            got = given[key] if key in given else next(parsed)
        if doc_id in seen:
            skipped.append((path.name, f"another file ({seen[doc_id]}) has the id {doc_id!r}"))
            continue
        if isinstance(got, str):
            skipped.append((path.name, got))
            continue
        if fresh and cache:
            fresh_parsed.append((key, got))
        if not got["passages"]:
            skipped.append((path.name, f"{path.name}: no sentences to index"))
            continue
        seen[doc_id] = path.name
        # Applied after the cache: its entries stay keyed by the file's bytes alone.
        own = {"url": urls[path]} if urls.get(path) else {}
        entry = {**got["meta"], **own, "file": path.name, "passages": len(got["passages"]),
                 "sha256": hashlib.sha256(raw).hexdigest()}
        if index_dir is not None and path.suffix.lower() in ORIGINAL_SUFFIXES:
            entry["original"] = originals.keep(index_dir, raw, path.suffix)
            if got.get("ocr_words"):
                originals.keep_words(index_dir, entry["original"], got["ocr_words"])
        docs.append(entry)
        passages.extend(Passage.from_dict({**p, **own}) for p in got["passages"])
    if cache:
        cache.store_documents(fresh_parsed)
    return docs, passages


def _encode(encoder: Encoder, texts: list[str], cache: BuildCache | None,
            tick: Callable[[int], None] | None) -> tuple[np.ndarray, int]:
    """Vectors of all texts, encoding only those the cache lacks; (vectors, how many encoded)."""
    known = cache.vectors(texts) if cache and cache.reading else {}
    # By length: texts of a batch are padded to its longest, so like lengths together waste
    # least (the model sorts only within one call, and a call is one batch here, so that a
    # killed build keeps what it encoded in the cache).
    todo = sorted(dict.fromkeys(t for t in texts if text_key(t) not in known), key=len)
    if tick and len(texts) > len(todo):
        tick(len(texts) - len(todo))
    for start in range(0, len(todo), BATCH):
        batch = todo[start:start + BATCH]
        vectors = encoder.encode(batch, batch_size=BATCH)
        if cache:
            cache.store_vectors(batch, vectors)
        known.update(zip(map(text_key, batch), vectors))
        if tick:
            tick(len(batch))
    if not texts:
        return np.zeros((0, encoder.dimension), np.float32), 0
    return np.vstack([known[text_key(t)] for t in texts]).astype(np.float32), len(todo)


def build_locked(corpus_dir: Path, index_dir: Path, encoder: Encoder, progress: Progress | None = None,
                 full: bool = False, on_stage: Stage | None = None,
                 processes: bool = False, version: str | None = None,
                 runner: Any = None, read: Mapping[str, dict] | None = None,
                 settings: Mapping[str, Any] | None = None) -> BuildReport:
    """The build itself; the caller holds the build lock. `version` names the version to
    publish (an admin change records it in its journal first). `runner` reads and encodes
    elsewhere (bot/index/ray_build.py; by default, on Ray when the settings' RAY_ADDRESS is
    set). `read` holds documents the caller has just read (parse_new), by cache key."""
    stage = on_stage or (lambda name: None)
    limits = ReadLimits.from_settings(settings)
    if runner is None:
        from .ray_build import configured_runner
        runner = configured_runner(encoder, (settings or {}).get("RAY_ADDRESS"))
    encode = runner.encode if runner else _encode
    started = time.perf_counter()
    probe = probe_vector(encoder, queries=False)
    # A full build reads nothing from the cache but fills it, so the next build is incremental.
    cache = BuildCache(index_dir, model_key(probe, encoder.dimension), encoder.dimension)
    cache.reading = not full
    try:
        stage("reading")
        skipped: list[tuple[str, str]] = []
        docs, passages = _read(corpus_dir, cache, skipped, processes, index_dir, runner, read,
                               limits)
        if not docs:
            raise AccordError(f"no readable .txt, .md, .html, .pdf or .docx documents in {corpus_dir}")
        variants = prepare(load_table(corpus_dir / VARIANTS_FILE), passages)

        stage("encoding")
        sentences = [s for p in passages for s in p.sentence_texts()]
        texts = [index_text(p) for p in passages]
        tick = progress(len(texts) + len(sentences)) if progress else None
        if runner:
            # One pipeline for both: each one starts its own pool of model-holding actors.
            both, n1 = runner.encode(encoder, texts + sentences, cache, tick)
            passage_vectors, sentence_vectors, n2 = both[:len(texts)], both[len(texts):], 0
        else:
            passage_vectors, n1 = encode(encoder, texts, cache, tick)
            sentence_vectors, n2 = encode(encoder, sentences, cache, tick)
    finally:
        cache.close()

    stage("writing")
    previous = _previous_documents(index_dir)
    with new_version(index_dir, version, check=lambda folder: _check(folder, encoder, probe),
                     on_stage=stage) as v:
        built = CorpusIndex(folder=v.folder, manifest={}, passages=passages,
                            vectors=VectorIndex.build(passage_vectors),
                            sentence_vectors=sentence_vectors,
                            lexical=LexicalIndex.build(texts), variants=variants)
        built.save(v.folder)
        v.write_manifest({
            "model": {"name": encoder.name, "dimension": encoder.dimension, "probe": probe,
                      "precision": getattr(encoder, "precision", "fp32"),
                      # The probe is embedded with both prompts, so other prompts are refused.
                      "prompts": getattr(encoder, "prompts", {}),
                      "checksum": getattr(encoder, "checksum", None)},
            "index_type": built.vectors.kind,
            "vector_index": built.vectors.info,
            "libraries": _versions(),
            "corpus": {"dir": str(corpus_dir), "fingerprint": _fingerprint(docs, corpus_dir),
                       "documents": docs,
                       "skipped": [{"file": f, "reason": r} for f, r in skipped]},
            "passages": len(passages),
            "sentences": len(sentences),
            "build": runner.facts() if runner else {"runner": "local"},
        })
    version, folder = v.version, v.published
    stage("done")
    now = {d["doc_id"]: d["sha256"] for d in docs}
    return BuildReport(
        version=version, documents=len(docs), passages=len(passages), sentences=len(sentences),
        seconds=time.perf_counter() - started,
        added=sorted(set(now) - set(previous)),
        changed=sorted(d for d in now if d in previous and previous[d] != now[d]),
        removed=sorted(set(previous) - set(now)),
        unchanged=sorted(d for d in now if previous.get(d) == now[d]),
        skipped=skipped, encoded=n1 + n2,
        ocr_pages=sum(len(d.get("ocr_pages", [])) for d in docs),
        unread_pages=[{"file": d["file"], **u} for d in docs for u in d.get("unread_pages", [])], reused=len(texts) + len(sentences) - n1 - n2,
        folder=folder)


def _fingerprint(docs: list[dict], corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for d in sorted(docs, key=lambda d: d["doc_id"]):
        digest.update(f"{d['doc_id']}\0{d['sha256']}\0{d.get('url', '')}\0".encode())
    variants = corpus_dir / VARIANTS_FILE
    if variants.exists():
        digest.update(variants.read_bytes())
    digest.update(COMMON_FILE.read_bytes())   # a changed common table changes the groups too
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("accord-bot", "sentence-transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _check(staged: Path, encoder: Encoder, probe: list[float]) -> None:
    """A version is published only if it loads and a probe query finds a passage."""
    manifest = verify(staged, model_probe=probe, dimension=encoder.dimension)
    loaded = CorpusIndex.load(staged, manifest)
    scores, ids = loaded.vectors.search(encoder.encode([loaded.passages[0].text]), 1)
    if ids.shape[1] == 0 or ids[0, 0] < 0:
        raise AccordError(f"the new index in {staged} failed its probe query; it was not published")
