"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings joined by reciprocal rank fusion."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .corpus_index import CorpusIndex

CANDIDATES = 50     # from each ranking; the fused list is cut from their union
RRF_K = 60          # Cormack et al.'s constant: damps the weight of the very first ranks
# Two families of evidence count equally: lexical (BM25) and dense, the dense one seen both
# as whole passages and as their best sentence (a long passage's one matching sentence).
WEIGHTS = {"lexical": 1.0, "dense": 0.5, "sentence": 0.5}
FILTER_KEYS = ("source", "doc_id", "date_from", "date_to")


@dataclass
class Hit:
    idx: int              # passage row
    score: float          # fused score
    dense: float          # cosine of the passage
    sentence: float       # best cosine of one of its sentences
    best_sentence: int    # that sentence's position in the passage
    lexical: float        # BM25 score
    duplicates: list[int]  # rows of near-identical passages folded into this one


def _mask(index: CorpusIndex, filters: Mapping[str, Any] | None) -> np.ndarray | None:
    if not filters:
        return None
    keep = np.ones(len(index.passages), dtype=bool)
    for i, p in enumerate(index.passages):
        if "source" in filters and p.source.lower() != str(filters["source"]).lower():
            keep[i] = False
        elif "doc_id" in filters and p.doc_id != filters["doc_id"]:
            keep[i] = False
        elif "date_from" in filters and p.date < str(filters["date_from"]):
            keep[i] = False
        elif "date_to" in filters and p.date > str(filters["date_to"]):
            keep[i] = False
    return keep


def _ranks(scores: np.ndarray, rows: np.ndarray) -> dict[int, int]:
    order = rows[np.argsort(-scores[rows], kind="stable")]
    return {int(r): rank for rank, r in enumerate(order[:CANDIDATES], 1)}


class Retriever:
    """Ranks passages for a query text and its vector."""

    def __init__(self, index: CorpusIndex, duplicate_cosine: float = 0.9) -> None:
        self.index = index
        self.duplicate_cosine = duplicate_cosine

    def search(self, query: str, query_vector: np.ndarray, k: int = 5,
               filters: Mapping[str, Any] | None = None, lexical_query: str | None = None) -> list[Hit]:
        """The k best passages; `lexical_query` (default: `query`) is what BM25 matches."""
        index = self.index
        n = len(index.passages)
        keep = _mask(index, filters)
        q = query_vector.reshape(1, -1).astype(np.float32)
        dense_scores, dense_ids = index.vectors.search(q, n if keep is not None else min(n, CANDIDATES * 4))
        dense = np.full(n, -1.0, dtype=np.float32)
        dense[dense_ids[0][dense_ids[0] >= 0]] = dense_scores[0][dense_ids[0] >= 0]
        lexical = index.lexical.scores(lexical_query or query)
        rows = np.arange(n) if keep is None else np.flatnonzero(keep)
        if len(rows) == 0:
            return []
        dense_rank = _ranks(dense, rows)
        lexical_rank = {r: rank for r, rank in _ranks(lexical, rows).items() if lexical[r] > 0}
        candidates = sorted(set(dense_rank) | set(lexical_rank))

        sentence_best, sentence_pos = {}, {}
        for r in candidates:
            rows_s = index.sentence_rows(r)
            sims = index.sentence_vectors[rows_s] @ q[0]
            sentence_pos[r] = int(np.argmax(sims))
            sentence_best[r] = float(sims[sentence_pos[r]])
        sentence_order = sorted(candidates, key=lambda r: -sentence_best[r])
        sentence_rank = {r: rank for rank, r in enumerate(sentence_order, 1)}

        def fused(r: int) -> float:
            missing = 10 * CANDIDATES
            return (WEIGHTS["dense"] / (RRF_K + dense_rank.get(r, missing))
                    + WEIGHTS["sentence"] / (RRF_K + sentence_rank[r])
                    + WEIGHTS["lexical"] / (RRF_K + lexical_rank.get(r, missing)))

        ranked = sorted(candidates, key=lambda r: -fused(r))
        hits: list[Hit] = []
        for r in ranked:
            twin = self._duplicate_of(r, sentence_pos[r], hits)
            if twin is not None:
                twin.duplicates.append(r)
                continue
            hits.append(Hit(idx=r, score=fused(r), dense=float(dense[r]), sentence=sentence_best[r],
                            best_sentence=sentence_pos[r], lexical=float(lexical[r]), duplicates=[]))
            if len(hits) >= k:
                break
        return hits

    def _duplicate_of(self, r: int, best: int, hits: list[Hit]) -> Hit | None:
        """A passage from another report whose answering sentence says what a better-ranked
        one's does ("Mr Lee said that the relationship ... very close" twice)."""
        index = self.index
        mine = index.sentence_vectors[index.sentence_start[r] + best]
        for hit in hits:
            if index.passages[hit.idx].doc_id == index.passages[r].doc_id:
                continue
            theirs = index.sentence_vectors[index.sentence_start[hit.idx] + hit.best_sentence]
            if float(mine @ theirs) >= self.duplicate_cosine:
                return hit
        return None
