"""The dense vector index: FAISS inner-product search behind build/search/save/load.

Small corpora get exact search (IndexFlatIP). Above APPROXIMATE_ABOVE passages, where exact
search costs more than a few milliseconds a question, the index is an inverted file
whose vectors are stored as float16 (IndexIVFScalarQuantizer, QT_fp16: half the memory a
question reads, the same recall as float32 to 0.001 at 1M passages): `nlist` cells chosen from
the corpus size, and `nprobe`, the cells searched per query, 1.5x the smallest that finds at
least TARGET_RECALL of the exact top 10 on a sample measured at build time. Indexes built as
IndexIVFFlat (before float16) still load and search. Either is read memory-mapped and read-only, so the processes of one
server share its pages instead of each holding a copy."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..embedding.encoder import check_vectors
from ..errors import IndexUnavailable
from ..settings import BY_KEY

FLAT = "flat-ip"
IVF = "ivf-fp16"
IVF_KINDS = (IVF, "ivf-flat")  # ivf-flat: float32 lists, what earlier versions built
# Measured on 2 cores (docs/performance.md): one exact search over 20,000 passage vectors takes
# about 2-4 ms, over 100,000 about 25 ms; an inverted file stays near 1-2 ms at any size.
APPROXIMATE_ABOVE = 20_000
TARGET_RECALL = 0.98         # on passages with noise (cosine ~0.55 to them, as questions)
MARGIN = 1.5                 # nprobe is 1.5x the smallest that reaches it: real questions
                             # scatter more than the sample (0.86 at 100k without it; at 1M
                             # 2x gave 0.991 at 6 ms a search, more than needed)
NPROBES = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
TRAIN_PER_LIST = 40          # k-means training points per cell (FAISS warns below 39)
SAMPLE_QUERIES = 200
SEED = 1234
# One question is searched on one thread (ACCORD_SEARCH_THREADS): a server has one worker per
# core, and FAISS's OpenMP threads spinning against the other workers cost 10-60x under load.
# The table's default until the app factory or the command line hands down the settings'
# (configure): OpenMP has one pool per process, so this is the process's, not one index's.
_threads = {"search": False, "count": int(BY_KEY["SEARCH_THREADS"].default)}


def configure(search_threads: int) -> None:
    """SEARCH_THREADS for this process, applied at the next search."""
    _threads["count"] = int(search_threads)
    _threads["search"] = False


def _search_threads() -> None:
    if not _threads["search"]:
        faiss.omp_set_num_threads(max(1, _threads["count"]))
        _threads["search"] = True


def _build_threads() -> None:
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _threads["search"] = False


def choose_kind(n: int) -> str:
    return FLAT if n <= APPROXIMATE_ABOVE else IVF


def choose_nlist(n: int) -> int:
    """About 4 * sqrt(n) cells, a power of two: 1,024 at 100k passages, 4,096 at 1M."""
    return int(2 ** round(math.log2(max(16.0, 4 * math.sqrt(n)))))


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Share of the exact top k that the approximate top k holds."""
    hits = sum(len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth))
    return hits / max(1, truth[:, :k].size)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by inner product, in blocks (works on memory-mapped vectors too)."""
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.full((len(queries), k), -1, np.int64)
    step = 65536
    for start in range(0, len(vectors), step):
        block = np.asarray(vectors[start:start + step], dtype=np.float32)
        scores = queries @ block.T
        kk = min(k, scores.shape[1])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        s = np.take_along_axis(scores, part, 1)
        allsc = np.concatenate([best_s, s], 1)
        alli = np.concatenate([best_i, part + start], 1)
        order = np.argsort(-allsc, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(allsc, order, 1), np.take_along_axis(alli, order, 1)
    return best_i


class VectorIndex:
    """Inner-product (cosine, for unit vectors) search over passage vectors."""

    def __init__(self, index: faiss.Index, info: dict[str, Any] | None = None) -> None:
        self._index = index
        self.info = info or describe(index)

    @property
    def kind(self) -> str:
        return self.info["type"]

    @property
    def dimension(self) -> int:
        return self._index.d

    def __len__(self) -> int:
        return self._index.ntotal

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str | None = None,
              progress: Any = None) -> "VectorIndex":
        """Exact for small corpora, an inverted file above APPROXIMATE_ABOVE (or as `kind` says)."""
        if vectors.ndim != 2:
            raise ValueError(f"vectors: expected a 2-D array, got shape {vectors.shape}")
        n, d = vectors.shape
        kind = kind or choose_kind(n)
        if kind == FLAT:
            vectors = check_vectors(vectors, d)
            index = faiss.IndexFlatIP(d)
            index.add(vectors)
            return cls(index, {"type": FLAT})
        return cls._build_ivf(vectors, progress)

    @classmethod
    def _build_ivf(cls, vectors: np.ndarray, progress: Any = None) -> "VectorIndex":
        say = progress or (lambda msg: None)
        _build_threads()
        n, d = vectors.shape
        nlist = choose_nlist(n)
        rng = np.random.default_rng(SEED)
        train_n = min(n, nlist * TRAIN_PER_LIST)
        train_rows = np.sort(rng.choice(n, train_n, replace=False))
        train = check_vectors(np.asarray(vectors[train_rows]), d)
        quantizer = faiss.IndexFlatIP(d)
        # float16 lists: at 1M passages a question reads 64 cells of about 250 vectors each,
        # and the time goes into reading them (docs/performance.md).
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = SEED
        say(f"training {nlist} cells on {train_n} vectors")
        index.train(train)
        step = 100_000
        for start in range(0, n, step):
            index.add(check_vectors(np.asarray(vectors[start:start + step]), d))
        # nprobe: the smallest that finds TARGET_RECALL of the exact top 10 for sample queries
        # (stored passages with noise: near, not on, a stored vector, as questions are).
        q_rows = rng.choice(n, min(SAMPLE_QUERIES, n), replace=False)
        queries = np.asarray(vectors[np.sort(q_rows)], dtype=np.float32)
        queries = queries + rng.normal(0, 1.5 / math.sqrt(d), queries.shape).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        say(f"measuring recall on {len(queries)} sample queries")
        truth = exact_top(vectors, queries, 10)
        chosen, recall = NPROBES[-1], 0.0
        for nprobe in NPROBES:
            if nprobe > nlist:
                break
            index.nprobe = nprobe
            _, found = index.search(queries, 10)
            recall = recall_at(found, truth)
            chosen = nprobe
            if recall >= TARGET_RECALL:
                break
        chosen = min(nlist, next((p for p in NPROBES if p >= chosen * MARGIN), NPROBES[-1]))
        index.nprobe = chosen
        return cls(index, {"type": IVF, "nlist": nlist, "nprobe": chosen,
                           "build_recall_at_10": round(recall, 4), "trained_on": train_n})

    def search(self, queries: np.ndarray, k: int,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (len(queries), k'); k' = min(k, len(self)), ids -1 past the end.
        `rows`, if given, restricts the search to those passage rows."""
        queries = check_vectors(queries, self.dimension, "queries")
        _search_threads()
        k = min(k, len(self) if rows is None else len(rows))
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if rows is None:
            return self._index.search(queries, k)
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
        params = (faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nprobe)
                  if self.kind in IVF_KINDS else faiss.SearchParameters(sel=selector))
        return self._index.search(queries, k, params=params)

    def reconstruct(self, row: int) -> np.ndarray:
        if self.kind in IVF_KINDS:
            self._index.make_direct_map()  # pragma: no cover - not used on the query path
        return self._index.reconstruct(int(row))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> "VectorIndex":
        """Read an index file memory-mapped and read-only (pages shared between processes)."""
        try:
            flags = faiss.IO_FLAG_READ_ONLY
            if mmap:
                flags |= _mmap_flag(path)
            index = faiss.read_index(str(path), flags)
        except RuntimeError:
            raise IndexUnavailable(f"{path}: the FAISS index file is damaged or truncated; "
                                   "rebuild it with `accord build`") from None
        _no_prefetch(index)
        return cls(index)


def _mmap_flag(path: Path) -> int:
    """FAISS maps flat storage with IO_FLAG_MMAP_IFC and inverted lists with IO_FLAG_MMAP."""
    with open(path, "rb") as f:
        head = f.read(4)
    # Inverted files (IwFl float32, IwSq float16, ...) start "Iw" or "Iv"; flat ones "Ix".
    return faiss.IO_FLAG_MMAP if head[:2] in (b"Iw", b"Iv") else faiss.IO_FLAG_MMAP_IFC


def _no_prefetch(index: faiss.Index) -> None:
    """Mapped inverted lists (OnDiskInvertedLists) start 32 threads per search to read ahead
    the cells it will scan: for a file in the page cache that is all overhead (at 1M passages
    4.5 ms a search with it, 2.4 ms without)."""
    ivf = faiss.try_extract_index_ivf(index)
    lists = faiss.downcast_InvertedLists(ivf.invlists) if ivf is not None else None
    if isinstance(lists, faiss.OnDiskInvertedLists):
        lists.prefetch_nthread = 0


def describe(index: faiss.Index) -> dict[str, Any]:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        kind = IVF if isinstance(faiss.downcast_index(index), faiss.IndexIVFScalarQuantizer) \
            else "ivf-flat"
        return {"type": kind, "nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe)}
    return {"type": FLAT}
