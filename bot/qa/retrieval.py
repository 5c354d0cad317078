"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings joined by reciprocal rank fusion."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..index.loaded import CorpusIndex
from ..text.words import tokenize

CANDIDATES = 50     # from each ranking (20 lost Chinese questions' passages, 100 changed nothing)
RRF_K = 60          # Cormack et al.'s constant: damps the weight of the very first ranks
# Measured for multilingual-e5-small (bot/bench/fusion.py over dev, dev_zh, eval/*.jsonl and
# eval/corpus2; docs/performance.md): the whole passage's cosine and its best sentence's count
# twice as much as BM25 (whose weight lexical_reach scales further). The MiniLM-era weights
# (lexical 1, dense .5, sentence .5) let BM25 override e5's better dense ranking: mean hit@1
# over the six sets .73 -> .83, hit@5 .90 -> .96, no set worse at hit@5.
WEIGHTS = {"lexical": 0.5, "dense": 1.0, "sentence": 1.0}
ADAPTIVE_LEXICAL = True   # BM25's weight scaled by lexical_reach (evidence: bot/bench/fusion.py)
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
    return index.filter_mask(filters)


def _dense_ranks(scores: np.ndarray, ids: np.ndarray) -> dict[int, int]:
    """Ranks of the best CANDIDATES search results, ties by row (as a stable sort of all rows)."""
    ok = ids >= 0
    ids, scores = ids[ok], scores[ok]
    order = np.lexsort((ids, -scores))[:CANDIDATES]
    return {int(r): rank for rank, r in enumerate(ids[order].tolist(), 1)}


# With a filter, every kept row is searched (each gets its true cosine, as before) up to this
# many; beyond, the best CANDIDATES * 4 of them, as without a filter.
FILTERED_EXACT_ROWS = 20_000


def _best_sentences(index: CorpusIndex, rows: list[int], q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each passage row, its best sentence's similarity to `q` and that sentence's position
    (the first of equals): one gather and one product for all candidates, not one per passage."""
    if not rows:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    starts = index.sentence_start
    r = np.asarray(rows, dtype=np.int64)
    lo = np.asarray(starts[r], dtype=np.int64)
    counts = np.asarray(starts[r + 1], dtype=np.int64) - lo
    first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    sims = np.asarray(index.sentence_vectors[np.repeat(lo - first, counts) + np.arange(counts.sum())]) @ q
    best = np.maximum.reduceat(sims, first)
    at_best = np.flatnonzero(sims == np.repeat(best, counts))
    return best, at_best[np.searchsorted(at_best, first)] - first


def lexical_reach(index: CorpusIndex, words: str, groups: Sequence[Mapping[str, Any]] = ()) -> float:
    """The share of the asker's distinct words that some passage holds, or that name a thing of
    the variants table `groups` (matched in the question) the texts hold in another form: how
    far BM25 can see.

    A question in Chinese over English texts matches them lexically by its names alone (their
    English forms, added by the variants table); BM25 then ranks every passage that names
    李家超 alike and drowns the dense ranking, which does understand the question. So BM25's
    weight is scaled by this share: 1 for a question in the texts' words (or made of names
    only: "港交所是什么？"), low for one in another script ("香港是重庆的第几大贸易伙伴？": its
    names only), and in between for a mixed one."""
    if not ADAPTIVE_LEXICAL:
        return 1.0
    tokens = sorted(set(tokenize([words])[0]))
    if not tokens:
        return 1.0
    named = {t for g in groups if g.get("in_corpus") for toks in tokenize(list(g["names"])) for t in toks}
    known = index.lexical.idf(tokens)
    return sum(1 for t in tokens if t in known or t in named) / len(tokens)


class Retriever:
    """Ranks passages for a query text and its vector."""

    def __init__(self, index: CorpusIndex, duplicate_cosine: float = 0.9) -> None:
        self.index = index
        self.duplicate_cosine = duplicate_cosine

    def _dense(self, q: np.ndarray, keep: np.ndarray | None) -> tuple[dict[int, float], dict[int, int]]:
        """(cosine by row for the rows searched, dense rank of the best CANDIDATES)."""
        index = self.index
        n = len(index.passages)
        if keep is None:
            scores, ids = index.vectors.search(q, min(n, CANDIDATES * 4))
        else:
            kept = np.flatnonzero(keep)
            k = len(kept) if len(kept) <= FILTERED_EXACT_ROWS else CANDIDATES * 4
            scores, ids = index.vectors.search(q, k, rows=kept)
        scores, ids = scores[0], ids[0]
        valid = ids >= 0
        dense = dict(zip(ids[valid].tolist(), scores[valid].tolist()))
        return dense, _dense_ranks(scores, ids)

    def search(self, query: str, query_vector: np.ndarray, k: int = 5,
               filters: Mapping[str, Any] | None = None, lexical_query: str | None = None,
               words: str | None = None, groups: Sequence[Mapping[str, Any]] = ()) -> list[Hit]:
        """The k best passages; `lexical_query` (default: `query`) is what BM25 matches, `words`
        (default: `query`) the asker's own words, before name variants were added, `groups` the
        variants table's groups matched in them."""
        index = self.index
        keep = _mask(index, filters)
        if keep is not None and not keep.any():
            return []
        q = query_vector.reshape(1, -1).astype(np.float32)
        dense, dense_rank = self._dense(q, keep)
        lexical_rows, lexical_score = index.lexical.search(lexical_query or query, CANDIDATES, keep)
        lexical_rank = {int(r): rank for rank, r in enumerate(lexical_rows.tolist(), 1)}
        lexical_weight = WEIGHTS["lexical"] * lexical_reach(index, words or query, groups)
        candidates = sorted(set(dense_rank) | set(lexical_rank))

        best, pos = _best_sentences(index, candidates, q[0])
        sentence_best = dict(zip(candidates, best.tolist()))
        sentence_pos = dict(zip(candidates, pos.tolist()))
        sentence_order = sorted(candidates, key=lambda r: -sentence_best[r])
        sentence_rank = {r: rank for rank, r in enumerate(sentence_order, 1)}

        def fused(r: int) -> float:
            missing = 10 * CANDIDATES
            return (WEIGHTS["dense"] / (RRF_K + dense_rank.get(r, missing))
                    + WEIGHTS["sentence"] / (RRF_K + sentence_rank[r])
                    + lexical_weight / (RRF_K + lexical_rank.get(r, missing)))

        ranked = sorted(candidates, key=lambda r: -fused(r))
        hits: list[Hit] = []
        for r in ranked:
            twin = self._duplicate_of(r, sentence_pos[r], hits)
            if twin is not None:
                twin.duplicates.append(r)
                continue
            hits.append(Hit(idx=r, score=fused(r), dense=dense.get(r, -1.0), sentence=sentence_best[r],
                            best_sentence=sentence_pos[r], lexical=0.0, duplicates=[]))
            if len(hits) >= k:
                break
        if hits:
            rows = np.asarray([h.idx for h in hits])
            for hit, value in zip(hits, lexical_score(rows).tolist()):
                hit.lexical = float(value)
        return hits

    def _duplicate_of(self, r: int, best: int, hits: list[Hit]) -> Hit | None:
        """A passage from another report whose answering sentence says what a better-ranked
        one's does ("Mr Lee said that the relationship ... very close" twice)."""
        index = self.index
        mine = index.sentence_vectors[index.sentence_start[r] + best]
        doc = index.doc_row[r]
        for hit in hits:
            if index.doc_row[hit.idx] == doc:
                continue
            theirs = index.sentence_vectors[index.sentence_start[hit.idx] + hit.best_sentence]
            if float(mine @ theirs) >= self.duplicate_cosine:
                return hit
        return None
