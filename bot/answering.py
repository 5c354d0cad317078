"""Composing the short answer from the best sentences of the retrieved passages, with citations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .corpus_index import CorpusIndex
from .lexical import LexicalIndex, tokenize
from .retrieval import Hit

MAX_ANSWER_CHARS = 450     # a short answer, well under what a chat bubble holds
MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.9   # a second sentence must score nearly as well as the first
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


def overlap(weights: dict[str, float], text: str) -> float:
    """Share of the query's IDF mass whose words the text contains."""
    total = sum(weights.values())
    if not total:
        return 0.0
    present = set(tokenize([text])[0])
    return sum(w for t, w in weights.items() if t in present) / total


def pick_sentences(index: CorpusIndex, hits: list[Hit], query_vector: np.ndarray,
                   weights: dict[str, float]) -> list[Candidate]:
    """The sentences that best answer the query: meaning and shared rare words both count."""
    pool: list[Candidate] = []
    for rank, hit in enumerate(hits[:SENTENCE_POOL]):
        passage = index.passages[hit.idx]
        sims = index.sentence_vectors[index.sentence_rows(hit.idx)] @ query_vector
        for pos, text in enumerate(passage.sentence_texts()):
            # Later passages must win on their own sentence, not on the first passage's rank.
            score = float(sims[pos]) + LEXICAL_WEIGHT * overlap(weights, text) - 0.02 * rank
            pool.append(Candidate(rank, pos, text, score))
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


def _clip(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def compose(index: CorpusIndex, hits: list[Hit], query_vector: np.ndarray,
            query: str) -> tuple[str, list[dict[str, Any]]]:
    """The answer text with [n] markers, and the citations it points to (best first)."""
    weights = term_weights(index.lexical, query)
    chosen = pick_sentences(index, hits, query_vector, weights)
    # Read in passage order when both sentences come from one passage.
    if chosen:
        lead = chosen[0].hit_rank
        chosen.sort(key=lambda c: (0, c.position) if c.hit_rank == lead else (1, 0))
    answer = " ".join(f"{_clip(c.text)} [{c.hit_rank + 1}]" for c in chosen)
    citations = []
    for rank, hit in enumerate(hits):
        p = index.passages[hit.idx]
        spans = [p.sentences[c.position] for c in chosen if c.hit_rank == rank] \
            or [p.sentences[hit.best_sentence]]
        citations.append({
            "n": rank + 1, "doc_id": p.doc_id, "title": p.title, "source": p.source,
            "date": p.date, "passage_id": p.id, "section": p.section, "text": p.text,
            "highlights": [list(s) for s in sorted(spans)],
            "score": round(max(hit.dense, hit.sentence), 4),
            "also_in": [{"passage_id": d.id, "doc_id": d.doc_id, "title": d.title,
                         "source": d.source, "date": d.date}
                        for d in (index.passages[r] for r in hit.duplicates)],
        })
    return answer, citations
