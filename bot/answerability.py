"""Deciding whether the texts answer a question: evidence features and a calibrated model."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from .corpus_index import CorpusIndex
from .lexical import tokenize
from .retrieval import Hit

MODEL_FILE = Path(__file__).parent / "data" / "answerability.json"
FEATURES = ("dense", "sentence", "coverage", "unknown")
EVIDENCE_PASSAGES = 3


@dataclass
class Evidence:
    dense: float       # cosine of the best passage
    sentence: float    # cosine of the best sentence
    coverage: float    # share of the question's rare-word weight found in the top passages
    unknown: float     # share of the question's content words found nowhere in the texts

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def evidence(index: CorpusIndex, hits: Sequence[Hit], question: str,
             variant_groups: Sequence[dict[str, Any]]) -> Evidence:
    """Features of the retrieved passages against the question (before name expansion)."""
    if not hits:
        return Evidence(0.0, 0.0, 0.0, 1.0)
    tokens = sorted(set(tokenize([question])[0]))
    idf = index.lexical.idf(tokens)
    unknown = sum(1 for t in tokens if t not in idf) / max(len(tokens), 1)
    present: set[str] = set()
    for hit in hits[:EVIDENCE_PASSAGES]:
        present |= set(tokenize([index.passages[hit.idx].text])[0])
    for group in variant_groups:  # a name counts as found when any of its forms is
        forms = [set(t) for t in tokenize(group["names"])]
        if any(f and f <= present for f in forms):
            present |= set().union(*forms)
    weight = sum(idf.values())
    coverage = sum(w for t, w in idf.items() if t in present) / weight if weight else 0.0
    return Evidence(dense=max(h.dense for h in hits), sentence=max(h.sentence for h in hits),
                    coverage=coverage, unknown=unknown)


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def probability(ev: Evidence, model: dict[str, Any] | None = None) -> float:
    """P(answerable) from the logistic model fitted by `accord calibrate`."""
    model = model or load_model()
    z = model["intercept"] + sum(w * x for w, x in zip(model["weights"], ev.vector()))
    return 1 / (1 + math.exp(-z))


def fit(rows: Sequence[tuple[Evidence, bool]]) -> dict[str, Any]:
    """Fit the logistic model on labelled evidence (True: the texts answer it)."""
    from sklearn.linear_model import LogisticRegression

    x = [ev.vector() for ev, _ in rows]
    y = [int(label) for _, label in rows]
    # Balanced weights: there are fewer unanswerable questions, and missing one is the worse error.
    clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(x, y)
    return {"features": list(FEATURES), "weights": [float(w) for w in clf.coef_[0]],
            "intercept": float(clf.intercept_[0]), "threshold": 0.5, "trained_on": len(rows)}
