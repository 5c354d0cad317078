"""The question-answering engine: follow-ups, name variants, retrieval, abstention, answer."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .abstention import (MODEL_FILE, Evidence, documents_with_names, evidence, load_model,
                         model_file, none_hold_names,
                         prefer_documents_with_names,
                         prepare as prepare_evidence, probability)
from .asked import asked_type, each_name
from .compose import choose, compose, prepare as prepare_candidates, related
from ..cache import BytesLRU, budget
from ..text import chinese
from ..text.chinese import names_in as chinese_names, no_answer
from ..index.loaded import CorpusIndex, open_index, open_version
from ..embedding.encoder import Encoder, probe_vector
from .followup import changes_topic, names_in, resolve
from .retrieval import Retriever
from ..settings import BY_KEY
from ..corpus.variants import Expander

log = logging.getLogger("accord")
NO_ANSWER = "The documents do not answer this question."
# A refused question about what the texts are about (this share of its word weight is in the
# nearest passages) is told what the texts do say nearby, with those passages as `related`.
ON_TOPIC_COVERAGE = 0.5
RELATED_ON_REFUSAL = 3
# At load, the passages' words are computed ahead for this long at most: a passage seen the
# first time costs a question about a millisecond (tokenising and folding its sentences), so
# the first questions after a start would be the slow ones.
WARM_SECONDS = 0.5


# A question that is not a follow-up: a sentence whose passage lacks the names it asks about
# answers about something else ("what the Paris Agreement needs" answered by another
# agreement's report), though less surely than a follow-up's carried subject, which the
# passage must hold: this share of the follow-up's weight.
OWN_NAMES_SHARE = 0.75
# Retrieved this many times the passages asked for: when none of the best is from a document
# that holds the question's names, those further down that are go first.
NAMES_DEPTH = 4


def own_names(question: str) -> list[str]:
    """The names a question asks about, in English or Chinese."""
    return each_name(names_in(question)) + chinese_names(question)


def _asks_as(question: str, history: Sequence[str]) -> str | None:
    """The earlier question whose kind an elliptical follow-up asks ("And for Malaysia?" after
    "Who signed it for Singapore?" asks who), when it asks none of its own."""
    if history and changes_topic(question) and asked_type(question) is None:
        return history[-1]
    return None


def subject(question: str, standalone: str) -> list[str]:
    """The names a follow-up that changes the topic carries from the earlier turns (none for
    any other question)."""
    if standalone == question or not changes_topic(question):
        return []
    own = {n.lower() for n in own_names(question)}
    return [n for n in own_names(standalone) if n.lower() not in own]


def refusal(question: str, nearest: str) -> str:
    """ "The texts do not say ..." for a question on the texts' topic, with what they do say."""
    asked = " ".join(question.split())
    return f'The texts do not answer "{asked}" They say: {nearest}'


class Bot:
    """Answers questions from one loaded index version."""

    def __init__(self, encoder: Encoder, index: CorpusIndex,
                 settings: Mapping[str, Any] | None = None) -> None:
        """`settings`: the app's or the command line's (QUERY_CACHE, CACHE_BYTES); without
        them, the table's defaults."""
        self.encoder = encoder
        self.index = index
        self.retriever = Retriever(index)
        self.expander = Expander(index.variants)
        fitted = model_file(getattr(encoder, "name", ""))
        if not fitted.is_file():
            log.warning("no abstention model fitted for %s: using %s's, which puts the threshold "
                        "on another model's scale (run `accord calibrate`)",
                        getattr(encoder, "name", "this model"), load_model().get("model"))
            fitted = MODEL_FILE
        self.model = load_model(fitted)
        given = settings or {}
        on = int(given.get("QUERY_CACHE", BY_KEY["QUERY_CACHE"].default))
        self._cache = BytesLRU(budget(0.3, given.get("CACHE_BYTES")) if on else 0)
        self._encode_query = getattr(encoder, "encode_query", None) \
            or (lambda text: encoder.encode([text])[0])

    @classmethod
    def open(cls, index_dir: Path, encoder: Encoder, folder: Path | None = None,
             settings: Mapping[str, Any] | None = None) -> "Bot":
        """The bot over the current version, or over one version `folder`."""
        probe, dim = probe_vector(encoder), encoder.dimension
        index = open_version(folder, probe, dim) if folder else open_index(index_dir, probe, dim)
        return cls(encoder, index, settings)

    def warm(self, seconds: float = WARM_SECONDS) -> int:
        """Computes, passage by passage until `seconds` have passed, what answering computes for
        a passage it retrieves the first time (kept by the request path's caches, bounded in
        bytes as ever). Returns how many passages were done."""
        deadline = time.perf_counter() + seconds
        done = 0
        for done in range(len(self.index.passages)):
            if time.perf_counter() >= deadline:
                return done
            passage = self.index.passages[done]
            prepare_candidates(passage)
            prepare_evidence(passage)
        return len(self.index.passages)

    def embed(self, text: str) -> np.ndarray:
        """The query vector, from an LRU cache bounded in bytes: people ask the same things
        often, and a long question must not weigh more than its share."""
        return self._cache.get(text, lambda: self._encode_query(text))

    def understand(self, question: str, history: Sequence[str] = (),
                   last_answer: str = "") -> tuple[str, str, list]:
        """(standalone question, query with name variants, variant groups matched)."""
        standalone = resolve(question, list(history), last_answer)
        # "港瓊" names Hong Kong and Hainan: in full, the variants table knows them, and the
        # question's names are judged so too.
        standalone = chinese.spell_out_pairs(
            standalone, lambda pair: self.index.lexical.passages_with(pair) is not None)
        query, groups = self.expander.expand(standalone)
        dates = chinese.english_dates(standalone) if chinese.has_han(standalone) else []
        if dates:   # as the names: the English texts' own form beside the question's
            query = f"{query} ({', '.join(dates)})"
        return standalone, query, groups

    def _search(self, question: str, query: str, standalone: str, k: int,
                filters: Mapping[str, Any] | None = None, groups: Sequence = ()) -> tuple[np.ndarray, list]:
        vector = self.embed(query)
        # A follow-up's own words say what is asked; the carried context only says about what.
        lexical = query if standalone == question else f"{query} {question}"
        def search(n: int) -> list:
            return self.retriever.search(query, vector, k=n, filters=filters,
                                         lexical_query=lexical, words=standalone, groups=groups)
        hits = search(k)
        if none_hold_names(self.index, hits, standalone, groups):
            # Searched deeper only then: most questions' best passages hold their names.
            hits = documents_with_names(self.index, search(k * NAMES_DEPTH), standalone, groups, k)
        return vector, hits

    def _retrieve(self, question: str, history: Sequence[str], k: int,
                  filters: Mapping[str, Any] | None = None, last_answer: str = "") -> tuple:
        """(standalone question, query, variant groups, query vector, hits, ranked candidate
        sentences): what answering and its evidence both start from."""
        standalone, query, groups = self.understand(question, history, last_answer)
        vector, hits = self._search(question, query, standalone, k, filters, groups)
        names, share = subject(question, standalone), 1.0
        if standalone == question:
            names, share = own_names(question), OWN_NAMES_SHARE
        pool = choose(self.index, hits, vector, query, question, names, groups,
                      subject_share=share, kind_from=_asks_as(question, history)) if hits else []
        pool = prefer_documents_with_names(self.index, hits, standalone, groups, pool)
        return standalone, query, groups, vector, hits, pool

    def ask(self, question: str, history: Sequence[str] = (), k: int = 5,
            filters: Mapping[str, Any] | None = None, always_cite: bool = False,
            last_answer: str = "") -> dict[str, Any]:
        """The reply of POST /api/ask: `citations` are what the answer cites, numbered in the
        order it cites them; `related` the other passages retrieved. `always_cite` composes
        the answer's citations even when the bot abstains (evaluation uses it to judge
        retrieval apart from abstention)."""
        started = time.perf_counter()
        standalone, query, groups, vector, hits, pool = self._retrieve(
            question, history, k, filters, last_answer)
        ev = evidence(self.index, hits, standalone, groups, pool)
        p = probability(ev, self.model)
        answered = bool(hits) and p >= self.model["threshold"]
        reply: dict[str, Any] = {"answered": answered, "answer": no_answer(question, NO_ANSWER),
                                 "citations": [], "related": [], "query": query,
                                 "confidence": round(p, 3)}
        if answered or (always_cite and hits):
            answer, citations, others = compose(self.index, hits, vector, query, question, pool)
            reply["citations"], reply["related"] = citations, others
            if answered:
                reply["answer"] = answer
        if not answered and not always_cite and hits and ev.coverage >= ON_TOPIC_COVERAGE:
            reply["related"] = related(self.index, hits[:RELATED_ON_REFUSAL])
            if reply["answer"] == NO_ANSWER and pool:
                reply["answer"] = refusal(question, pool[0].text)
        reply["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return reply

    def evidence_for(self, question: str, history: Sequence[str] = ()) -> tuple[Evidence, list]:
        """Features and hits for calibration and evaluation."""
        standalone, _, groups, _, hits, pool = self._retrieve(question, history, 5)
        return evidence(self.index, hits, standalone, groups, pool), hits
