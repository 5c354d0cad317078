"""Deciding whether the texts answer a question: evidence features and a calibrated model."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from . import chinese
from .corpus_index import CorpusIndex
from .followup import names_in
from .lexical import tokenize
from .retrieval import Hit
from .variants import fold_key

MODEL_FILE = Path(__file__).parent / "data" / "answerability.json"
FEATURES = ("dense", "sentence", "coverage", "unknown", "names_missing", "type_mismatch", "cross_script")
EVIDENCE_PASSAGES = 3

NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                    r"twelve|dozens?|hundreds?|thousands?|millions?|billions?)\b", re.I)
DATE = re.compile(r"\b(1[89]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|"
                  r"September|October|November|December)\b|\b(today|yesterday|tomorrow|"
                  r"afternoon|morning|evening)\b", re.I)
PERSON = re.compile(r"\b(Mr|Ms|Mrs|Dr|Professor)\.?\s+[A-Z]|\b[A-Z][a-z]+ [A-Z][a-z]+(-[a-z]+)?\b")
# What kind of thing the question asks for, and how a sentence that gives it looks.
ASKS = [
    (re.compile(r"^\s*(when|what (date|day|year|month|time)s?|on what dates?|in what year|"
                r"which (date|day|year|month)s?)\b", re.I), "date"),
    (re.compile(r"\bhow (many|much|long|old|large|big|far|often|tall)\b|\bwhat (percentage|share|"
                r"proportion|amount|number)\b", re.I), "quantity"),
    (re.compile(r"^\s*(who|whom|whose)\b", re.I), "person"),
    # The same asks in Chinese (Simplified and Traditional): the sentences judged are English
    # or Chinese alike, so a Chinese question is checked for the kind of thing it asks too.
    (re.compile(r"什么时候|什麼時候|何时|何時|哪一?年|哪一?天|哪个月|哪個月|几月|幾月|几号|幾號|日期"), "date"),
    (re.compile(r"多少|几[个份条次所名位家项座年天]|幾[個份條次所名位家項座年天]|多[高长長大远遠久重]"), "quantity"),
    (re.compile(r"^\s*(谁|誰)|是(谁|誰)"), "person"),
]


@dataclass
class Evidence:
    dense: float          # cosine of the best passage
    sentence: float       # cosine of the best sentence
    coverage: float       # share of the question's word weight found in the top passages
    unknown: float        # share of the question's words found nowhere in the texts
    names_missing: float  # share of the question's names absent from the top passages
    type_mismatch: float  # 1 when no top sentence holds the kind of thing asked (a date, ...)
    cross_script: float = 0.0  # share of the question's words in a script the top passages lack

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def asked_type(question: str) -> str | None:
    for pattern, kind in ASKS:
        if pattern.search(question):
            return kind
    return None


def _gives(kind: str, sentence: str, question: str) -> bool:
    if kind == "date":
        return bool(DATE.search(sentence))
    if kind == "quantity":
        m = re.search(r"\bhow (many|much)\s+([\w-]+)", question, re.I)
        if m and m.group(1).lower() == "many":
            # "how many hours": a number close to the thing counted, not any number.
            unit = tokenize([m.group(2)])[0]
            words = tokenize([sentence])[0]
            return bool(NUMBER.search(sentence)) and (not unit or unit[0] in words)
        return bool(NUMBER.search(sentence))
    return bool(PERSON.search(sentence))


def _is_word(ch: str) -> bool:
    # What the regex \w matches, less Chinese characters: Chinese is written without spaces, so
    # a name may touch them (variants.NOT_BEFORE / NOT_AFTER).
    return (ch.isalnum() or ch == "_") and not chinese.HAN_CHAR.match(ch)


def _has_word(text: str, phrase: str) -> bool:
    """`phrase` in `text` with no word character either side: a regex built from the question
    would do it, and fill re's pattern cache (512 entries of any size) with every question."""
    start = text.find(phrase)
    while start >= 0:
        end = start + len(phrase)
        if (start == 0 or not _is_word(text[start - 1])) and \
                (end == len(text) or not _is_word(text[end])):
            return True
        start = text.find(phrase, start + 1)
    return False


def evidence(index: CorpusIndex, hits: Sequence[Hit], question: str,
             variant_groups: Sequence[dict[str, Any]]) -> Evidence:
    """Features of the retrieved passages against the question (before name expansion)."""
    if not hits:
        return Evidence(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0)
    top = [index.passages[h.idx] for h in hits[:EVIDENCE_PASSAGES]]
    # Words of a name the variants table knows are judged as that name, not one by one.
    variant_tokens = {t for g in variant_groups for toks in tokenize(g["names"]) for t in toks}
    tokens = sorted(set(tokenize([question])[0]))
    # Chinese words cannot be found in English passages whatever they ask: they are neither
    # covered nor unknown (the dense features, which cross scripts, judge them), and their
    # share is a feature of its own, so the fit weighs the dense features apart for them.
    asked = len(tokens)
    if not any(chinese.has_han(p.text) for p in top):
        tokens = [t for t in tokens if not chinese.has_han(t)]
    cross_script = (asked - len(tokens)) / asked if asked else 0.0
    idf = index.lexical.idf(tokens)
    unknown = [t for t in tokens if t not in idf and t not in variant_tokens]
    present: set[str] = set()
    for p in top:
        present |= set(tokenize([p.text])[0])
    for group in variant_groups:
        forms = [set(t) for t in tokenize(group["names"])]
        if any(f and f <= present for f in forms):
            present |= set().union(*forms)
    # A name the texts write in another form only ("李家超" over English texts) weighs as the
    # form of it the top passages hold, once per name.
    held = sum(_held_weight(index, group, tokens, idf, present) for group in variant_groups)
    # A word found in no passage is at least as telling as the rarest word that is found.
    weight = sum(idf.values()) + index.lexical.max_idf() * len(unknown) + held
    coverage = (sum(w for t, w in idf.items() if t in present) + held) / weight if weight else 0.0

    # Folded per passage (and cached): the same few passages come back question after question.
    text = " ".join(fold_key(p.text) for p in top)
    group_forms = [{fold_key(n) for n in g["names"]} for g in variant_groups]
    names = [n for name in names_in(question) for n in re.split(r"\s+and\s+", name)]
    names += chinese.names_in(question)   # Chinese names the variants table knows
    missing = 0
    for name in names:
        key = fold_key(re.sub(r"’s|'s$", "", name))
        forms = next((f for f in group_forms if key in f), {key})
        if not any(_has_word(text, f) for f in forms):
            missing += 1

    kind = asked_type(question)
    best = [p.sentence_texts()[h.best_sentence] for p, h in zip(top, hits)]
    mismatch = float(kind is not None and not any(_gives(kind, s, question) for s in best))
    return Evidence(dense=max(h.dense for h in hits), sentence=max(h.sentence for h in hits),
                    coverage=coverage, unknown=len(unknown) / max(len(tokens), 1),
                    names_missing=missing / len(names) if names else 0.0, type_mismatch=mismatch,
                    cross_script=cross_script)


def _held_weight(index: CorpusIndex, group: dict[str, Any], tokens: Sequence[str],
                 idf: dict[str, float], present: set[str]) -> float:
    """The IDF of the group's form in the passages when the question names it only in words
    found nowhere in the texts; 0 otherwise."""
    forms = [set(t) for t in tokenize(group["names"])]
    if not any(t not in idf and any(t in f for f in forms) for t in tokens):
        return 0.0
    if any(f and f <= set(tokens) and all(t in idf for t in f) for f in forms):
        return 0.0   # the question also names it in the texts' own words
    held = [index.lexical.idf(sorted(f)) for f in forms if f and f <= present]
    return max((sum(w.values()) / max(len(w), 1) for w in held if w), default=0.0)


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def probability(ev: Evidence, model: dict[str, Any] | None = None) -> float:
    """P(answerable) from the logistic model fitted by `accord calibrate`."""
    model = model or load_model()
    z = model["intercept"] + sum(w * x for w, x in zip(model["weights"], ev.vector()))
    return 1 / (1 + math.exp(-z))


def fit(rows: Sequence[tuple[Evidence, bool]], c: float = 100.0) -> dict[str, Any]:
    """Fit the logistic model on labelled evidence (True: the texts answer it).

    Weak regularisation: multilingual-e5-small's cosines of answered and unanswered questions
    differ by a few hundredths, and at C=1 the penalty flattened their weights until every
    Chinese question (judged by them alone) was refused."""
    from sklearn.linear_model import LogisticRegression

    x = [ev.vector() for ev, _ in rows]
    y = [int(label) for _, label in rows]
    # Balanced weights: there are fewer unanswerable questions, and missing one is the worse error.
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit(x, y)
    return {"features": list(FEATURES), "weights": [float(w) for w in clf.coef_[0]],
            "intercept": float(clf.intercept_[0]), "threshold": 0.5, "trained_on": len(rows)}
