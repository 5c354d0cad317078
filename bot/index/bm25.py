"""Lexical retrieval: BM25 (bm25s) over stemmed words (text/words.py), for exact names and numbers."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import bm25s
import numpy as np

from ..cache import BytesLRU, budget
from ..errors import IndexUnavailable
from ..text.words import TOKEN, fold_spelling, stemmer, stopwords, tokenize


def _prepare(texts: Sequence[str]) -> list[str]:
    return [fold_spelling(t) for t in texts]


# Up to this many passages every query scores every passage that holds one of its words, exactly
# as bm25s does. Beyond it, each word contributes its CHAMPIONS best passages (by that word's
# BM25 weight; all of them when it is in fewer) as candidates; the best candidates are then
# scored exactly. Rare words, the ones that tell passages apart, are never cut.
EXACT_MAX_PASSAGES = 100_000
CHAMPIONS = 2000
MAX_POSTINGS = 200_000   # passages_with: longer lists are not intersected
CHAMPION_FILES = ("champion_indptr.npy", "champion_indices.npy", "champion_data.npy")


def top_rows(scores: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of the k highest positive scores, best first, ties by row: what a stable sort of the
    whole array gives, without sorting it. `rows` (ascending) restricts the choice."""
    if rows is not None:
        return rows[top_rows(scores[rows], k)]
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        vals = scores[positive]
        kth = np.partition(vals, len(vals) - k)[len(vals) - k]
        positive = positive[vals >= kth]
    order = np.lexsort((positive, -scores[positive]))
    return positive[order][:k]


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25, champions: tuple[np.ndarray, ...] | None = None) -> None:
        self._bm25 = retriever
        self._champions = champions
        # passages_with's answers: the same names come back question after question.
        self._with = BytesLRU(budget(0.02))

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(_prepare(texts), stopwords=stopwords(), stemmer=stemmer(),
                                       token_pattern=TOKEN.pattern, show_progress=False), show_progress=False)
        return cls(retriever)

    @property
    def num_docs(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def token_ids(self, query: str) -> list[int]:
        """Ids of the query's known tokens, in order, repeats kept (each one counts)."""
        vocab = self._bm25.vocab_dict
        return [vocab[t] for t in tokenize([query])[0] if t in vocab]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no word is known)."""
        known = self.token_ids(query)
        if not known:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def search(self, query: str, k: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, Callable]:
        """(rows of the k best passages with a positive score, best first; a function giving the
        score of any rows). `keep` (a boolean mask) restricts the rows ranked."""
        ids = self.token_ids(query)
        if not ids:
            return np.zeros(0, np.int64), lambda rows: np.zeros(len(rows), np.float32)
        if self.num_docs <= EXACT_MAX_PASSAGES or self._champions is None:
            full = np.asarray(self._bm25.get_scores(ids), dtype=np.float32)
            rows = None if keep is None else np.flatnonzero(keep)
            return top_rows(full, k, rows), lambda r: full[np.asarray(r, dtype=np.int64)]
        return self._search_champions(ids, k, keep)

    def passages_with(self, text: str, max_rows: int = MAX_POSTINGS) -> np.ndarray | None:
        """Rows of the passages that hold every word of `text`; None when a word is in no
        passage (the texts do not know it). A word in more than `max_rows` passages is taken
        as held by all of them (the intersection is bounded work, whatever the corpus)."""
        return self._with.get((text, max_rows), lambda: self._passages_with(text, max_rows))

    def _passages_with(self, text: str, max_rows: int) -> np.ndarray | None:
        vocab = self._bm25.vocab_dict
        tokens = set(tokenize([text])[0])
        if not tokens or any(t not in vocab for t in tokens):
            return None
        lists = sorted((self._postings(vocab[t])[0] for t in tokens), key=len)
        rows = lists[0]
        for more in lists[1:]:
            if len(more) > max_rows:
                break   # sorted by length: every later list is as common
            rows = np.intersect1d(rows, more, assume_unique=True)
        return rows

    def _postings(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        s = self._bm25.scores
        a, b = int(s["indptr"][t]), int(s["indptr"][t + 1])
        return s["indices"][a:b], s["data"][a:b]

    def _candidates(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        c_ptr, c_ind, c_dat = self._champions
        a, b = int(c_ptr[t]), int(c_ptr[t + 1])
        return (c_ind[a:b], c_dat[a:b]) if b > a else self._postings(t)

    def exact(self, ids: Sequence[int], rows: np.ndarray) -> np.ndarray:
        """Exact BM25 scores of `rows`, summed in query order as bm25s does (same floats)."""
        rows = np.asarray(rows, dtype=np.int64)
        total = np.zeros(len(rows), dtype=np.float32)
        for t in ids:
            ind, dat = self._postings(t)
            # In the postings' own dtype (int32): numpy would otherwise copy the whole posting
            # list to int64 for every lookup, 1 ms for a common word at 1M passages.
            pos = np.searchsorted(ind, rows.astype(ind.dtype, copy=False))
            pos_c = np.minimum(pos, max(len(ind) - 1, 0))
            found = (pos < len(ind)) & (ind[pos_c] == rows) if len(ind) else np.zeros(len(rows), bool)
            total += np.where(found, dat[pos_c] if len(ind) else 0, 0).astype(np.float32)
        return total

    def _search_champions(self, ids: list[int], k: int,
                          keep: np.ndarray | None) -> tuple[np.ndarray, Callable]:
        lists = [self._candidates(t) for t in ids]
        idx = np.concatenate([np.asarray(i, dtype=np.int64) for i, _ in lists])
        val = np.concatenate([np.asarray(v, dtype=np.float32) for _, v in lists])
        rows, inverse = np.unique(idx, return_inverse=True)
        partial = np.zeros(len(rows), dtype=np.float32)
        np.add.at(partial, inverse, val)
        if keep is not None:
            partial[~keep[rows]] = 0
        shortlist = rows[top_rows(partial, max(4 * k, 200))]
        exact = self.exact(ids, shortlist)
        best = shortlist[top_rows(exact, k)]
        known = dict(zip(shortlist.tolist(), exact.tolist()))

        def score(r: np.ndarray) -> np.ndarray:
            r = np.asarray(r, dtype=np.int64)
            missing = [x for x in r.tolist() if x not in known]
            if missing:
                known.update(zip(missing, self.exact(ids, np.asarray(missing)).tolist()))
            return np.asarray([known[x] for x in r.tolist()], dtype=np.float32)
        return best, score

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each known token (BM25's formula)."""
        vocab = self._bm25.vocab_dict
        indptr = self._bm25.scores["indptr"]
        n = int(self._bm25.scores["num_docs"])
        out = {}
        for t in tokens:
            if t in vocab and vocab[t] + 1 < len(indptr):  # bm25s keeps a column-less "" token
                df = int(indptr[vocab[t] + 1] - indptr[vocab[t]])
                out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def max_idf(self) -> float:
        """The IDF of a word found in one passage: what a word found in none is at least worth."""
        n = int(self._bm25.scores["num_docs"])
        return float(np.log(1 + (n - 1 + 0.5) / 1.5))

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))
        save_champions(folder, self._bm25.scores)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        """Map the BM25 arrays read-only (shared between processes), not read them."""
        try:
            bm25 = bm25s.BM25.load(str(folder), mmap=True)
            champions = tuple(np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False))
                              for name in CHAMPION_FILES) \
                if all((folder / name).exists() for name in CHAMPION_FILES) else None
            return cls(bm25, champions)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexUnavailable(f"{folder}: the BM25 index is damaged ({type(exc).__name__}); "
                                   "rebuild it with `accord build`") from None


def save_champions(folder: Path, scores: dict, champions: int = CHAMPIONS) -> None:
    """For each word in more than `champions` passages, its `champions` best ones (by its BM25
    weight, ties by row); words in fewer keep an empty range (their postings are used whole)."""
    indptr = np.asarray(scores["indptr"])
    indices, data = scores["indices"], scores["data"]
    ptr = np.zeros(len(indptr), dtype=np.int64)
    out_i: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    total = 0
    for t in range(len(indptr) - 1):
        a, b = int(indptr[t]), int(indptr[t + 1])
        if b - a > champions:
            dat = np.asarray(data[a:b])
            best = np.sort(np.lexsort((np.arange(b - a), -dat))[:champions])
            out_i.append(np.asarray(indices[a:b])[best].astype(np.int32))
            out_d.append(dat[best].astype(np.float32))
            total += len(best)
        ptr[t + 1] = total
    np.save(folder / CHAMPION_FILES[0], ptr)
    np.save(folder / CHAMPION_FILES[1], np.concatenate(out_i) if out_i else np.zeros(0, np.int32))
    np.save(folder / CHAMPION_FILES[2], np.concatenate(out_d) if out_d else np.zeros(0, np.float32))
