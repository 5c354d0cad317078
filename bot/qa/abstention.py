"""Deciding whether the texts answer a question: evidence features and a calibrated model."""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from ..text import chinese
from ..text.words import tokenize
from ..index.loaded import CorpusIndex
from . import asked
from .compose import margin as answer_margin
from .retrieval import Hit
from ..text.words import fold_key

MODEL_FILE = Path(__file__).parent.parent / "data" / "answerability.json"
FEATURES = ("dense", "sentence", "coverage", "unknown", "names_missing", "type_mismatch",
            "specifics_missing", "negation_mismatch", "margin", "answer_names_missing",
            "cross_language")
# Evidence that the answer contradicts the question, whatever the texts: the answer's sentence
# does not give the kind of thing asked, a year or number asked about is not in its passage, or
# the question is negated and the sentence is not, or half the names of the question that the
# texts know are not in the answer's document ("Shanghai's trading partners" answered from a
# report on Chongqing's), or the question names a place, person or body the texts never
# mention ("Guangzhou" over texts on Chongqing). Any of them refuses (see `probability`).
CONTRADICTIONS = ("value_missing", "specifics_missing", "negation_mismatch",
                  "document_names_missing", "name_unknown", "attribute_missing",
                  "speaker_missing")
STRICT_KINDS = ("date", "quantity")   # asked kinds a sentence either gives or does not
CONTRADICTION_FACTOR = 0.1   # what is left of P(answerable) when the answer contradicts
EVIDENCE_PASSAGES = 3


@dataclass
class Evidence:
    dense: float          # cosine of the best passage
    sentence: float       # cosine of the best sentence
    coverage: float       # share of the question's word weight found in the top passages
    unknown: float        # share of the question's words found nowhere in the texts
    names_missing: float  # share of the question's names absent from the top passages
    type_mismatch: float  # 1 when the answer's sentence does not hold the kind of thing asked
    specifics_missing: float = 0.0  # 1 when a year or number of the question is not in the
    #                                 answer's passage nor its document's date
    negation_mismatch: float = 0.0  # 1 when the question is negated and the answer is not
    margin: float = 0.0   # the best answer's score above the best from another passage
    answer_names_missing: float = 0.0  # share of the question's names the answer's passage lacks
    value_missing: float = 0.0  # 1 when a date or a quantity is asked and the answer has none
    cross_language: float = 0.0  # 1 when the question is Chinese and the answer's passage is
    #   not, or the other way round: its words are then mostly "unknown" and uncovered
    #   whatever the texts say
    document_names_missing: float = 0.0  # 1 when at least half the question's names that some
    #   passage holds are in no passage of the answer's document (a contradiction, not a feature)
    name_unknown: float = 0.0  # 1 when a name of the question is in no passage (a contradiction)
    attribute_missing: float = 0.0  # 1 when a person's birth, schooling, family or death is
    #   asked and the answer's passage speaks of none (a contradiction)
    speaker_missing: float = 0.0  # 1 when what someone named said is asked and neither the
    #   answer's passage nor the one before it names them (a contradiction)

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def asked_type(question: str) -> str | None:
    return asked.asked_type(question)


def specifics(question: str, passage_text: str, doc_date: str) -> float:
    """1 when a year, number or ordinal of the question is not in the answer's passage (or its
    document's date): "in 2021" against a text of 2023, "5 agreements" against "two", "the
    third plenary" against "the second", "today" (the reader's) against a dated report."""
    # Each kind is looked for in the passage only when the question has one: a passage is
    # long and the question short.
    for kind in (asked.years, asked.full_dates, asked.numbers, asked.ordinals,
                 asked.relative_times):
        wanted = kind(question)
        if not wanted:
            continue
        missing = wanted - kind(passage_text)
        if kind in (asked.years, asked.full_dates):
            missing -= kind(doc_date or "")
        elif kind is asked.relative_times:
            missing -= asked.dated_years(passage_text, doc_date)
        if missing:
            return 1.0
    return 0.0


def _place_swapped(question: str, sentence: str, forms: Sequence[set[str]]) -> float:
    """1 when the answer puts the thing asked about at another place than the question does
    ("When will the desk in Qinzhou open?" against "the desk in Nanning ..."), or has its verb
    act on another name ("adopted the Kyoto Protocol" against "adopted the Paris Agreement"),
    in every form of the question's name the variants table knows."""
    swapped = asked.swapped_places(question, sentence) + asked.swapped_objects(question, sentence)
    return float(bool(swapped) and asked.missing_names(fold_key(sentence), swapped, forms) > 0)


def table_forms(index: CorpusIndex) -> list[set[str]]:
    """The folded forms of every group of the index's variants table, computed once per index
    (kept on it: an index is replaced whole, never changed)."""
    cached = getattr(index, "_table_forms", None)
    if cached is None:
        cached = asked.group_forms(index.variants)
        index._table_forms = cached   # type: ignore[attr-defined]
    return cached


def prepare(passage: Any) -> None:
    """What evidence computes for a passage it sees first (its words, its folded text with and
    without the title), computed ahead (engine.Bot.warm): the caches keep it."""
    tokenize([passage.text])
    fold_key(passage.text)
    fold_key(f"{passage.title} {passage.text}")


def evidence(index: CorpusIndex, hits: Sequence[Hit], question: str,
             variant_groups: Sequence[dict[str, Any]], pool: Sequence[Any] = ()) -> Evidence:
    """Features of the retrieved passages against the question (before name expansion);
    `pool`: the ranked candidate sentences (answering.rank_candidates), best first."""
    if not hits:
        return Evidence(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    top = [index.passages[h.idx] for h in hits[:EVIDENCE_PASSAGES]]
    # Words of a name the variants table knows are judged as that name, not one by one.
    variant_tokens = {t for g in variant_groups for toks in tokenize(g["names"]) for t in toks}
    tokens = sorted(set(tokenize([question])[0]))
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
    # Is a name held: the groups the question matched first, then the whole table. A name the
    # expansion left alone (too common to add forms to, as "Hong Kong"; inside a longer name,
    # as "Dongjiang" in "Dongjiang water") is still held by a passage that writes it in another
    # form (香港). Which document holds it asks the table only across languages: its loose
    # forms ("HK") would place a name in more documents than write it.
    group_forms = asked.group_forms(variant_groups)
    held_forms = group_forms + table_forms(index)
    names = asked.question_names(question, [p.text for p in top])
    missing = asked.missing_names(text, names, held_forms)

    kind = asked.asked_type(question)
    if pool:
        best = pool[0]
        answer_passage = index.passages[hits[best.hit_rank].idx]
        sentence, gives = best.text, best.gives_type
        margin = answer_margin(pool)
    else:
        answer_passage = top[0]
        sentence = answer_passage.sentence_texts()[hits[0].best_sentence]
        gives, margin = asked.gives(kind, sentence, question), 0.0
    negation = float(asked.is_negated(question) and not asked.is_negated(sentence)
                     or asked.opposite_event(question, sentence))
    # An English question over a Chinese document (or the other way round): the document
    # writes the question's names in its own language, which the table knows (香港).
    crossed = chinese.is_chinese(question) != chinese.is_chinese(answer_passage.text)
    return Evidence(dense=max(h.dense for h in hits), sentence=max(h.sentence for h in hits),
                    coverage=coverage, unknown=len(unknown) / max(len(tokens), 1),
                    names_missing=missing / len(names) if names else 0.0,
                    type_mismatch=float(not gives),
                    specifics_missing=max(specifics(
                        question, f"{answer_passage.title} {answer_passage.text}",
                        answer_passage.date), _place_swapped(question, sentence, held_forms)),
                    answer_names_missing=asked.missing_names(
                        fold_key(f"{answer_passage.title} {answer_passage.text}"), names,
                        held_forms) / len(names) if names else 0.0,
                    negation_mismatch=negation, margin=margin,
                    value_missing=float(kind in STRICT_KINDS and (
                        not gives or _unrelated(sentence, question, tokens, variant_tokens))),
                    document_names_missing=float(_outside_document(
                        index, hits[pool[0].hit_rank].idx if pool else hits[0].idx, names,
                        _judging_forms(question, answer_passage.text, group_forms, held_forms))
                        >= DOCUMENT_NAMES_SHARE),
                    name_unknown=float(any(_unknown(index, word, variant_tokens, top)
                                           for name in names for word in _name_words(name))
                                       or _common_name_unknown(index, question)),
                    attribute_missing=float(asked.attribute_missing(question, answer_passage.text)),
                    speaker_missing=float(_speaker_missing(
                        index, hits[pool[0].hit_rank].idx if pool else hits[0].idx, question,
                        names, group_forms)),
                    cross_language=float(crossed))



DOCUMENT_NAMES_SHARE = 0.5


def _judging_forms(question: str, passage_text: str, group_forms: list[set[str]],
                   table: list[set[str]]) -> list[set[str]]:
    """The forms a document is judged to hold the question's names by: the groups the question
    matched, or across languages the whole table's ("Hong Kong", too common to expand, is 香港
    in a Chinese report; within one language the table's loose forms, "HK", would place a
    name in more documents than write it)."""
    return table if chinese.is_chinese(question) != chinese.is_chinese(passage_text) else group_forms


def _unrelated(sentence: str, question: str, tokens: Sequence[str],
               variant_tokens: set[str]) -> bool:
    """Whether a sentence that gives a date or a number shares no word with the question, nor
    with any form of its names: "How much will it cost to run the service desk?" is not
    answered by "36 investment projects worth 28 billion yuan" because its passage names the
    desk. Only within one language (a Chinese question shares no words with English texts)."""
    if chinese.has_han(sentence) or chinese.has_han(question):
        return False
    return not set(tokenize([sentence])[0]) & (set(tokens) | variant_tokens)


@lru_cache(maxsize=1)
def _common_chinese_forms() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """(Chinese forms, all forms) of each group of the packaged table of common names."""
    from ..corpus.variants import load_common
    return tuple((tuple(n for n in g["names"] if chinese.has_han(n) and len(n) >= 2),
                  tuple(g["names"])) for g in load_common())


def _common_name_unknown(index: CorpusIndex, question: str) -> bool:
    """Whether a Chinese question names a place the table of common names knows ("广州")
    that the texts name in none of its forms ("Guangzhou"): Chinese is written without
    capitals, so the common table is what tells its names apart."""
    if not chinese.has_han(question):
        return False
    for han, forms in _common_chinese_forms():
        if any(f in question for f in han) and \
                not any(len(rows) for f in forms
                        if (rows := index.lexical.passages_with(f)) is not None):
            return True
    return False


def _speaker_missing(index: CorpusIndex, passage: int, question: str, names: Sequence[str],
                     group_forms: Sequence[set[str]]) -> bool:
    """Whether the question asks what someone named said ("What did Japan's trade minister
    say") and the answer's passage, or the one before it in its document (a speech goes on
    across passages), names them in no form: the words quoted are someone else's."""
    who = asked.speaker(question)
    named = [n for n in names if n in who] if who else []
    if not named:
        return False
    p = index.passages[passage]
    text = p.text
    if passage > 0 and index.passages[passage - 1].doc_id == p.doc_id:
        text = f"{index.passages[passage - 1].text} {text}"
    return asked.missing_names(fold_key(f"{p.title} {text}"), named, group_forms) > 0


# Of a candidate's score, what a document that holds the question's names may make up when the
# best candidate's document lacks them (which refuses): "Where did the Loop signing take
# place?" is answered from the report on the Loop, not refused over another signing's.
NAMES_RESCUE_GAP = 0.05


def prefer_documents_with_names(index: CorpusIndex, hits: Sequence[Hit], question: str,
                                variant_groups: Sequence[dict[str, Any]], pool: list) -> list:
    """`pool` re-ranked when its best candidate's document lacks the question's names
    (document_names_missing): candidates from documents that hold them gain NAMES_RESCUE_GAP."""
    if not pool:
        return pool
    top = [index.passages[h.idx] for h in hits[:EVIDENCE_PASSAGES]]
    names = asked.question_names(question, [p.text for p in top])
    if not names:
        return pool
    forms = asked.group_forms(variant_groups)
    # Across languages, the whole table's forms (as evidence() judges it): "Hong Kong", too
    # common to expand, is 香港 in a Chinese report.
    crossed_forms = forms + table_forms(index)
    outside: dict[int, bool] = {}

    def lacks(rank: int) -> bool:
        if rank not in outside:
            text = index.passages[hits[rank].idx].text
            outside[rank] = _outside_document(index, hits[rank].idx, names, _judging_forms(
                question, text, forms, crossed_forms)) >= DOCUMENT_NAMES_SHARE
        return outside[rank]

    if not lacks(pool[0].hit_rank):
        return pool
    for cand in pool:
        if not lacks(cand.hit_rank):
            cand.score += NAMES_RESCUE_GAP
    return sorted(pool, key=lambda c: -c.score)


def _document_names(index: CorpusIndex, hits: Sequence[Hit], question: str,
                    variant_groups: Sequence[dict[str, Any]]) -> tuple[list[str], list[set[str]]]:
    names = asked.question_names(question, [index.passages[h.idx].text for h in hits[:EVIDENCE_PASSAGES]])
    return names, asked.group_forms(variant_groups) + table_forms(index)


def none_hold_names(index: CorpusIndex, hits: Sequence[Hit], question: str,
                    variant_groups: Sequence[dict[str, Any]]) -> bool:
    """Whether the question names something and no hit is from a document that holds half its
    names (in any form the table knows): then a deeper search is worth its cost."""
    names, forms = _document_names(index, hits, question, variant_groups)
    return bool(names) and bool(hits) and all(
        _outside_document(index, h.idx, names, forms) >= DOCUMENT_NAMES_SHARE for h in hits)


def documents_with_names(index: CorpusIndex, hits: Sequence[Hit], question: str,
                         variant_groups: Sequence[dict[str, Any]], k: int) -> list[Hit]:
    """The k best of a deeper search's `hits`, those from documents that hold the question's
    names first, each part in its order: "香港与广西签了多少份协议？" is about the English report
    that names Guangxi, however close Chinese reports on other places come in the question's
    own language. Unchanged when one of the k best already holds them, or none does."""
    names, forms = _document_names(index, hits, question, variant_groups)
    if len(hits) <= k or not names:
        return list(hits[:k])
    lacking = [_outside_document(index, h.idx, names, forms) >= DOCUMENT_NAMES_SHARE for h in hits]
    if not all(lacking[:k]) or all(lacking):
        return list(hits[:k])
    return ([h for h, out in zip(hits, lacking) if not out]
            + [h for h, out in zip(hits, lacking) if out])[:k]


DERIVED_MIN = 4    # letters a word made from a name shares with it, at least
DERIVED_ENDING = 5  # letters it may add ("Shanghai" -> "Shanghainese")


def _name_words(name: str) -> list[str]:
    """The name, and its last capitalised word when it has several: "the Strait of Malacca" is
    not in texts that only know the Strait of Johor, though "Strait" is. Only the last: it is a
    person's surname ("Paul Lam" where the texts say "Lam Ting-kwok") or what a place is
    named after; a Cantonese given name after a surname ("Woo Kin-man") is passed over."""
    words = [w for w in re.findall(r"[A-Z][\w'’-]*", name) if not GIVEN_NAME.match(w)]
    return [name] + (words[-1:] if len(words) > 1 else [])


GIVEN_NAME = re.compile(r"^[A-Z][a-z]+-[a-z]+$")   # "Kin-man", "Ka-chiu"


def _unknown(index: CorpusIndex, name: str, variant_tokens: set[str],
             top: Sequence[Any]) -> bool:
    """Whether the texts never mention `name`: none of its words is in any passage nor in the
    variants table's forms. Acronyms ("CE", "HKSAR", "MEPs") and short words are not judged (the texts
    may spell them out), nor a word made from a name the nearest passages hold ("Hongkongers",
    "Shanghainese", "Chinese" where they say "Hong Kong", "Shanghai", "China")."""
    letters = re.sub(r"[^A-Za-z]", "", name)
    # An acronym, plural too ("MEPs"), may be spelt out in the texts.
    if len(letters) < DERIVED_MIN or re.sub(r"s$", "", letters).isupper() or chinese.has_han(name):
        return False
    tokens = set(tokenize([name])[0])
    if not tokens or tokens & variant_tokens or index.lexical.idf(sorted(tokens)):
        return False
    word = letters.lower()
    for p in top:
        words = re.findall(r"[a-z]+", fold_key(p.text))
        for held in {*words, *(a + b for a, b in zip(words, words[1:]))}:
            shared = len(os.path.commonprefix([word, held]))
            if shared >= max(DERIVED_MIN, len(held) - 1) and len(word) - shared <= DERIVED_ENDING:
                return False
    return True


def _outside_document(index: CorpusIndex, passage: int, names: Sequence[str],
                      group_forms: Sequence[set[str]]) -> float:
    """The share of the question's names, among those some passage holds (in any form the
    variants table knows), that no passage of `passage`'s document holds: the texts speak of
    them, but not where the answer comes from. Names the texts never use ("Hongkongers") are
    the `unknown` and `names_missing` features' business, not this one's."""
    doc = index.passages.doc_row[passage]
    known = outside = 0
    for name in names:
        rows = (index.lexical.passages_with(f) for f in asked.forms_of(name, group_forms))
        found = [r for r in rows if r is not None]
        if not found:
            continue
        known += 1
        outside += not any((index.passages.doc_row[r] == doc).any() for r in found if len(r))
    return outside / known if known else 0.0


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


def model_file(model_name: str) -> Path:
    """The abstention model fitted for the embedding model `model_name`: the packaged default
    (fitted for the default model), or data/answerability-<name>.json. Another model puts
    cosines on another scale, so a fit does not carry over (`accord calibrate` writes one)."""
    if model_name == load_model().get("model"):
        return MODEL_FILE
    return MODEL_FILE.with_name(f"answerability-{re.sub(r'[^A-Za-z0-9._-]', '_', model_name)}.json")


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def probability(ev: Evidence, model: dict[str, Any] | None = None) -> float:
    """P(answerable) from the logistic model fitted by `accord calibrate`, cut to a tenth when
    the answer contradicts the question (CONTRADICTIONS): a model fitted on a few hundred
    questions gives little weight to kinds it rarely saw, and these hold on any texts."""
    model = model or load_model()
    z = model["intercept"] + sum(w * x for w, x in zip(model["weights"], ev.vector()))
    p = 1 / (1 + math.exp(-max(-60.0, min(60.0, z))))
    if any(getattr(ev, f) >= 1.0 for f in CONTRADICTIONS):
        p *= CONTRADICTION_FACTOR
    return p


MAX_FALSE_ABSTAIN = 0.05   # of answerable questions refused, out of sample, at the threshold
FOLDS = 5


def threshold_for(probs: Sequence[float], labels: Sequence[bool],
                  max_false_abstain: float = MAX_FALSE_ABSTAIN) -> float:
    """The highest threshold that refuses at most `max_false_abstain` of the answerable ones:
    refusing more unanswerable questions costs no more than that share of good answers."""
    pos = sorted(p for p, y in zip(probs, labels) if y)
    if not pos:
        return 0.5
    allowed = int(math.floor(max_false_abstain * len(pos)))
    # Refusing the `allowed` lowest positives: the threshold sits just above them.
    return float(pos[allowed]) - 1e-6 if allowed < len(pos) else float(pos[-1])


def rates(probs: Sequence[float], labels: Sequence[bool], threshold: float) -> dict[str, float]:
    """false_abstain, abstain_ok and AUROC of probabilities against labels."""
    from sklearn.metrics import roc_auc_score

    pos = [p for p, y in zip(probs, labels) if y]
    neg = [p for p, y in zip(probs, labels) if not y]
    out = {"false_abstain": sum(p < threshold for p in pos) / max(len(pos), 1),
           "abstain_ok": sum(p < threshold for p in neg) / max(len(neg), 1),
           "answerable": len(pos), "unanswerable": len(neg)}
    if pos and neg:
        out["auroc"] = float(roc_auc_score([int(y) for y in labels], list(probs)))
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def _fit_one(x: Any, y: Any, c: float) -> dict[str, Any]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    # Balanced weights: there are fewer unanswerable questions, and missing one is the worse error.
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit((x - mean) / std, y)
    # Standardised for the fit (features of very different scales), stored on the raw features.
    w = clf.coef_[0] / std
    return {"weights": [float(v) for v in w],
            "intercept": float(clf.intercept_[0] - float((clf.coef_[0] * mean / std).sum()))}


def fit(rows: Sequence[tuple[Evidence, bool]], c: float = 1.0, folds: int = FOLDS,
        max_false_abstain: float = MAX_FALSE_ABSTAIN) -> dict[str, Any]:
    """Fit the logistic model on labelled evidence (True: the texts answer it).

    The threshold is chosen on out-of-fold probabilities (stratified `folds`-fold cross-
    validation), never on the questions a probability was fitted on, and `cv` reports those
    out-of-sample rates; the stored weights are then fitted on all rows."""
    from sklearn.model_selection import StratifiedKFold

    x = [ev.vector() for ev, _ in rows]
    y = [int(label) for _, label in rows]
    oof = [0.0] * len(rows)
    splits = StratifiedKFold(n_splits=min(folds, min(sum(y), len(y) - sum(y))), shuffle=True,
                             random_state=0)
    for train, test in splits.split(x, y):
        part = _fit_one([x[i] for i in train], [y[i] for i in train], c)
        for i in test:
            oof[i] = probability(rows[i][0], part)
    threshold = threshold_for(oof, [bool(v) for v in y], max_false_abstain)
    model = _fit_one(x, y, c)
    return {"features": list(FEATURES), **model, "threshold": round(threshold, 4),
            "trained_on": len(rows), "cv": rates(oof, [bool(v) for v in y], threshold)}
