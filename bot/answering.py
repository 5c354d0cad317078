"""Composing the short answer from the best sentences of the retrieved passages, with citations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re

import numpy as np

from .corpus_index import CorpusIndex
from .followup import names_in
from .lexical import LexicalIndex, tokenize
from .retrieval import Hit

MAX_ANSWER_CHARS = 450     # a short answer, well under what a chat bubble holds
MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.95  # a second sentence must score nearly as well as the first
LEXICAL_WEIGHT = 0.5
SENTENCE_POOL = 3          # answer sentences come from the top passages only


@dataclass
class Candidate:
    hit_rank: int
    position: int          # sentence number within the passage
    text: str
    score: float


def term_weights(lexical: LexicalIndex, query: str) -> dict[str, float]:
    tokens = tokenize([query])[0]
    return lexical.idf(sorted(set(tokens)))


def pick_sentences(index: CorpusIndex, hits: list[Hit], query_vector: np.ndarray,
                   weights: dict[str, float], names: set[str] = frozenset()) -> list[Candidate]:
    """The sentences that best answer the query: meaning and shared rare words both count.

    A word every candidate shares tells them apart less than the one only the answer has
    ("focuses"), so words are weighted by their rarity among the candidates as well as in the
    corpus. The question's names ("Golden Phoenix Laboratory") count for every sentence of a
    passage that has them: "the laboratory focuses on ..." is about it through its passage."""
    pool: list[Candidate] = []
    tokens: list[set[str]] = []
    for rank, hit in enumerate(hits[:SENTENCE_POOL]):
        passage = index.passages[hit.idx]
        sims = index.sentence_vectors[index.sentence_rows(hit.idx)] @ query_vector
        texts = passage.sentence_texts()
        sentence_tokens = tokenize(texts)
        in_passage = names & set().union(*map(set, sentence_tokens))
        for pos, (text, toks) in enumerate(zip(texts, sentence_tokens)):
            # Later passages must win on their own sentence, not on the first passage's rank.
            pool.append(Candidate(rank, pos, text, float(sims[pos]) - 0.02 * rank))
            tokens.append(set(toks) | in_passage)
    n = len(pool)
    local = {t: w * np.log((n + 1) / (sum(t in toks for toks in tokens) + 0.5))
             for t, w in weights.items()}
    total = sum(v for v in local.values() if v > 0)
    for cand, toks in zip(pool, tokens):
        if total:
            cand.score += LEXICAL_WEIGHT * sum(v for t, v in local.items() if t in toks and v > 0) / total
    pool.sort(key=lambda c: -c.score)
    chosen: list[Candidate] = []
    length = 0
    for cand in pool:
        if len(chosen) >= MAX_SENTENCES:
            break
        if chosen and (cand.score < SECOND_SENTENCE_RATIO * chosen[0].score
                       or length + len(cand.text) > MAX_ANSWER_CHARS
                       or cand.text == chosen[0].text):
            continue
        chosen.append(cand)
        length += len(cand.text) + 5
    return chosen


def _clip(text: str, weights: dict[str, float], limit: int = MAX_ANSWER_CHARS) -> str:
    """A run-on sentence cut to the stretch of comma-separated parts that matches the query best."""
    if len(text) <= limit:
        return text
    parts = re.split(r"(?<=,)\s+", text)
    scores = [sum(weights.get(t, 0.0) for t in set(toks)) for toks in tokenize(parts)]
    best, best_score = (0, 1), -1.0
    for i in range(len(parts)):
        length, score = 0, 0.0
        for j in range(i, len(parts)):
            length += len(parts[j]) + 1
            if length > limit and j > i:
                break
            score += scores[j]
            if score > best_score:
                best, best_score = (i, j + 1), score
    i, j = best
    piece = " ".join(parts[i:j])[:limit]
    return ("… " if i > 0 else "") + piece.rstrip(",;: ") + (" …" if j < len(parts) else "")


def citation_link(index: CorpusIndex, p, sentences: list[str]) -> dict[str, Any]:
    """`page` (PDF passages) and `url` (where to open the original at the cited sentences)."""
    from .originals import citation_url
    docs = getattr(index, "_docs_by_id", None)
    if docs is None:
        docs = {d["doc_id"]: d for d in index.manifest.get("corpus", {}).get("documents", [])}
        index._docs_by_id = docs   # type: ignore[attr-defined]  # once per loaded version
    out: dict[str, Any] = {}
    if getattr(p, "page", None):
        out["page"] = p.page
    try:
        from flask import has_request_context, request
        root = request.script_root if has_request_context() else ""
    except ImportError:
        root = ""
    url = citation_url(docs.get(p.doc_id), p.doc_id, getattr(p, "page", None), sentences, root)
    if url:
        out["url"] = url
    return out


def compose(index: CorpusIndex, hits: list[Hit], query_vector: np.ndarray,
            query: str) -> tuple[str, list[dict[str, Any]]]:
    """The answer text with [n] markers, and the citations it points to (best first)."""
    weights = term_weights(index.lexical, query)
    names = set(tokenize([" ".join(names_in(query))])[0])
    chosen = pick_sentences(index, hits, query_vector, weights, names)
    # Read in passage order when both sentences come from one passage.
    if chosen:
        lead = chosen[0].hit_rank
        chosen.sort(key=lambda c: (0, c.position) if c.hit_rank == lead else (1, 0))
    answer = " ".join(f"{_clip(c.text, weights)} [{c.hit_rank + 1}]" for c in chosen)
    citations = []
    for rank, hit in enumerate(hits):
        p = index.passages[hit.idx]
        spans = [p.sentences[c.position] for c in chosen if c.hit_rank == rank] \
            or [p.sentences[hit.best_sentence]]
        link = citation_link(index, p, [p.text[a:b] for a, b in sorted(spans)])
        citations.append({
            "n": rank + 1, "doc_id": p.doc_id, "title": p.title, "source": p.source,
            "date": p.date, "passage_id": p.id, "section": p.section, "text": p.text,
            "highlights": [list(s) for s in sorted(spans)],
            "score": round(max(hit.dense, hit.sentence), 4),
            "also_in": [{"passage_id": d.id, "doc_id": d.doc_id, "title": d.title,
                         "source": d.source, "date": d.date}
                        for d in (index.passages[r] for r in hit.duplicates)],
            **link,
        })
    return answer, citations
