"""The dense vector index: FAISS exact inner-product search behind build/search/save/load."""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from .encoder import check_vectors
from .errors import IndexUnavailable


class VectorIndex:
    """Exact inner-product (cosine, for unit vectors) search over passage vectors."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def dimension(self) -> int:
        return self._index.d

    def __len__(self) -> int:
        return self._index.ntotal

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        if vectors.ndim != 2:
            raise ValueError(f"vectors: expected a 2-D array, got shape {vectors.shape}")
        vectors = check_vectors(vectors, vectors.shape[1])
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (len(queries), k'); k' = min(k, len(self))."""
        queries = check_vectors(queries, self.dimension, "queries")
        k = min(k, len(self))
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        return self._index.search(queries, k)

    def reconstruct(self, row: int) -> np.ndarray:
        return self._index.reconstruct(int(row))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError:
            raise IndexUnavailable(f"{path}: the FAISS index file is damaged or truncated; "
                                   "rebuild it with `accord build`") from None
