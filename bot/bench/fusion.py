"""Retrieval alone over a grid of fusion weights and candidate counts: the evidence for retrieval.py's constants.

Run: python -m bot.bench.fusion INDEX QUESTIONS.jsonl [...] [-- INDEX2 QUESTIONS2.jsonl ...]
Each question is embedded once (its vector is the same under every setting); each setting then
ranks every question again and reports hit@1, hit@5 and MRR@5 of the passages alone, per file.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from ..qa import retrieval
from ..qa.evaluation import load_questions, norm


def _rank(index: Any, hits: list, gold: list[str]) -> int | None:
    wanted = [norm(g) for g in gold]
    for rank, hit in enumerate(hits, 1):
        if any(g in norm(index.passages[hit.idx].text) for g in wanted):
            return rank
    return None


def prepare(bot: Any, rows: list[dict[str, Any]]) -> list[tuple[str, str, str, Any, list[str]]]:
    """(question, query, lexical query, vector, gold) of each answerable row, embedded once."""
    out = []
    for row in rows:
        if row["type"] == "unanswerable" or not row["gold"]:
            continue
        standalone, query, groups = bot.understand(row["question"], row.get("history", []))
        lexical = query if standalone == row["question"] else f"{query} {row['question']}"
        out.append((row["id"], query, lexical, bot.embed(query), row["gold"], standalone, groups))
    return out


def measure(bot: Any, prepared: list, weights: dict[str, float], candidates: int,
            adaptive: bool) -> dict[str, Any]:
    saved = dict(retrieval.WEIGHTS), retrieval.CANDIDATES, retrieval.ADAPTIVE_LEXICAL
    retrieval.WEIGHTS.update(weights)
    retrieval.CANDIDATES, retrieval.ADAPTIVE_LEXICAL = candidates, adaptive
    try:
        ranks = [_rank(bot.index, bot.retriever.search(q, v, k=5, lexical_query=lex, words=w,
                                                       groups=g), gold)
                 for _, q, lex, v, gold, w, g in prepared]
    finally:
        retrieval.WEIGHTS.clear()
        retrieval.WEIGHTS.update(saved[0])
        retrieval.CANDIDATES, retrieval.ADAPTIVE_LEXICAL = saved[1], saved[2]
    n = max(len(ranks), 1)
    return {"n": len(ranks), "hit@1": sum(r == 1 for r in ranks) / n,
            "hit@5": sum(r is not None for r in ranks) / n,
            "mrr@5": sum(1 / r for r in ranks if r) / n,
            "misses": [p[0] for p, r in zip(prepared, ranks) if r != 1]}


# Only ratios matter to a weighted RRF: dense stays 1. Candidates below 50 lost Chinese
# questions' passages in the first grid, above 50 changed nothing.
GRID = {"lexical": (0.5, 1.0, 2.0), "dense": (1.0,), "sentence": (0.5, 1.0)}
CANDIDATE_COUNTS = (50,)
ADAPTIVE = (False, True)


def grid() -> Iterable[tuple[dict[str, float], int, bool]]:
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        for c in CANDIDATE_COUNTS:
            for a in ADAPTIVE:
                yield dict(zip(keys, values)), c, a


def main(argv: list[str]) -> None:
    from ..embedding.encoder import SentenceTransformerEncoder
    from ..qa.engine import Bot
    from ..settings import load

    settings = load()   # a command of its own (python -m bot.bench.fusion): it reads them once
    encoder = SentenceTransformerEncoder(str(settings["MODEL"]), settings=settings)
    groups, current = [], None
    for arg in argv:
        if arg == "--":
            current = None
        elif current is None:
            current = (Path(arg), [])
            groups.append(current)
        else:
            current[1].append(Path(arg))
    sets = []
    for index_dir, files in groups:
        bot = Bot.open(index_dir, encoder, settings=settings)
        for f in files:
            sets.append((f.stem, bot, prepare(bot, load_questions(f))))
    for weights, c, adaptive in grid():
        row = {"weights": weights, "candidates": c, "adaptive": adaptive}
        for name, bot, prepared in sets:
            row[name] = measure(bot, prepared, weights, c, adaptive)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
