"""Lexical retrieval: BM25 (bm25s) over stemmed words, for exact names and numbers."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np
import Stemmer

from .errors import IndexUnavailable

# Question words carry no topic; bm25s's English list keeps them.
QUESTION_WORDS = ["what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did",
                  "does", "do", "was", "were", "is", "are", "tell", "me", "about", "please", "should",
                  "would", "could", "can", "will", "might", "must", "shall", "may"]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN
    return sorted(set(STOPWORDS_EN) | set(QUESTION_WORDS))


# Reports mix British and American spelling ("organised", "centres" / "organized", "centers");
# folding both sides the same way makes them one token. Applied to texts and queries alike.
SPELLING = [(re.compile(r"\b(\w{3,})is(e|es|ed|ing|ation|ations)\b", re.I), r"\1iz\2"),
            (re.compile(r"\b(\w{2,})tre(s?)\b", re.I), r"\1ter\2"),
            (re.compile(r"\b(\w{3,})our(s?)\b", re.I), r"\1or\2"),
            (re.compile(r"\bprogrammes?\b", re.I), "program")]
# Irregular past forms the stemmer leaves alone: "What did he say" must find "he said".
IRREGULAR = {"said": "say", "says": "say", "met": "meet", "held": "hold", "led": "lead",
             "took": "take", "went": "go", "saw": "see", "seen": "see", "gave": "give",
             "given": "give", "made": "make", "spoke": "speak", "spoken": "speak",
             "began": "begin", "begun": "begin", "chose": "choose", "chosen": "choose",
             "built": "build", "brought": "bring", "sought": "seek", "won": "win", "paid": "pay"}
IRREGULAR_RE = re.compile(r"\b(" + "|".join(IRREGULAR) + r")\b", re.I)


def fold_spelling(text: str) -> str:
    for pattern, repl in SPELLING:
        text = pattern.sub(repl, text)
    return IRREGULAR_RE.sub(lambda m: IRREGULAR[m.group(1).lower()], text)


def _prepare(texts: Sequence[str]) -> list[str]:
    return [fold_spelling(t) for t in texts]


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words of each text."""
    return bm25s.tokenize(_prepare(texts), stopwords=stopwords(), stemmer=_stemmer(),
                          return_ids=False, show_progress=False)


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25) -> None:
        self._bm25 = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(_prepare(texts), stopwords=stopwords(), stemmer=_stemmer(),
                                       show_progress=False), show_progress=False)
        return cls(retriever)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query (zeros when no word is known)."""
        tokens = tokenize([query])[0]
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        n = int(self._bm25.scores["num_docs"])
        if not known:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

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

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        try:
            return cls(bm25s.BM25.load(str(folder), mmap=False))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexUnavailable(f"{folder}: the BM25 index is damaged ({type(exc).__name__}); "
                                   "rebuild it with `accord build`") from None
