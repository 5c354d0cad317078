"""The question-answering engine: follow-ups, name variants, retrieval, abstention, answer."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .answerability import Evidence, evidence, load_model, probability
from .answering import compose
from .cache import BytesLRU, budget
from .chinese import no_answer
from .corpus_index import CorpusIndex, open_index, open_version
from .encoder import Encoder, probe_vector
from .followup import resolve
from .retrieval import Retriever
from .settings import resolve as setting
from .variants import Expander

NO_ANSWER = "The documents do not answer this question."


class Bot:
    """Answers questions from one loaded index version."""

    def __init__(self, encoder: Encoder, index: CorpusIndex) -> None:
        self.encoder = encoder
        self.index = index
        self.retriever = Retriever(index)
        self.expander = Expander(index.variants)
        self.model = load_model()
        self._cache = BytesLRU(budget(0.3) if int(setting("QUERY_CACHE")) else 0)
        self._encode_query = getattr(encoder, "encode_query", None) \
            or (lambda text: encoder.encode([text])[0])

    @classmethod
    def open(cls, index_dir: Path, encoder: Encoder, folder: Path | None = None) -> "Bot":
        """The bot over the current version, or over one version `folder`."""
        probe, dim = probe_vector(encoder), encoder.dimension
        index = open_version(folder, probe, dim) if folder else open_index(index_dir, probe, dim)
        return cls(encoder, index)

    def embed(self, text: str) -> np.ndarray:
        """The query vector, from an LRU cache bounded in bytes: people ask the same things
        often, and a long question must not weigh more than its share."""
        return self._cache.get(text, lambda: self._encode_query(text))

    def understand(self, question: str, history: Sequence[str] = (),
                   last_answer: str = "") -> tuple[str, str, list]:
        """(standalone question, query with name variants, variant groups matched)."""
        standalone = resolve(question, list(history), last_answer)
        query, groups = self.expander.expand(standalone)
        return standalone, query, groups

    def _search(self, question: str, query: str, standalone: str, k: int,
                filters: Mapping[str, Any] | None = None, groups: Sequence = ()) -> tuple[np.ndarray, list]:
        vector = self.embed(query)
        # A follow-up's own words say what is asked; the carried context only says about what.
        lexical = query if standalone == question else f"{query} {question}"
        return vector, self.retriever.search(query, vector, k=k, filters=filters,
                                             lexical_query=lexical, words=standalone, groups=groups)

    def ask(self, question: str, history: Sequence[str] = (), k: int = 5,
            filters: Mapping[str, Any] | None = None, always_cite: bool = False,
            last_answer: str = "") -> dict[str, Any]:
        """The reply of POST /api/ask. `always_cite` composes citations even when the bot
        abstains (evaluation uses it to judge retrieval apart from abstention)."""
        started = time.perf_counter()
        standalone, query, groups = self.understand(question, history, last_answer)
        vector, hits = self._search(question, query, standalone, k, filters, groups)
        ev = evidence(self.index, hits, standalone, groups)
        p = probability(ev, self.model)
        reply: dict[str, Any] = {"answered": bool(hits) and p >= self.model["threshold"],
                                 "answer": no_answer(question, NO_ANSWER), "citations": [], "query": query,
                                 "confidence": round(p, 3)}
        if reply["answered"] or (always_cite and hits):
            reply["answer"], reply["citations"] = compose(self.index, hits, vector, query)
        reply["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return reply

    def evidence_for(self, question: str, history: Sequence[str] = ()) -> tuple[Evidence, list]:
        """Features and hits for calibration and evaluation."""
        standalone, query, groups = self.understand(question, history)
        _, hits = self._search(question, query, standalone, 5, groups=groups)
        return evidence(self.index, hits, standalone, groups), hits
