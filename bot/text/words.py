"""Words for search and for names: the tokeniser (spelling folds, stopwords, stemming) shared by
the index and the questions, the question words, and the folding names are matched by."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import Stemmer

from ..cache import bytes_cached
from . import chinese

# Question words carry no topic; bm25s's English list keeps them.
QUESTION_WORDS = ["what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did",
                  "does", "do", "was", "were", "is", "are", "tell", "me", "about", "please", "should",
                  "would", "could", "can", "will", "might", "must", "shall", "may"]
# The words a question or a follow-up opens with. Not QUESTION_WORDS: it holds no modal verbs
# ("should", "may"), nor "me" or "about", and adds the openers "and", "also", "give", "list",
# "show", "explain", "describe"; follow-ups' content words and names are read without these.
# (QUESTION_WORDS is the index's vocabulary: changing it would change every built index.)
QUESTION_START = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did",
                  "does", "do", "is", "are", "was", "were", "can", "could", "will", "would",
                  "tell", "and", "also", "please", "give", "list", "show", "explain", "describe"}
# QUESTION_START and the openers of a request ("Name the ...", "Summarise ...", "According to
# ..."), which a capitalised run opening a question loses before it is taken as a name
# (qa/asked.py). Not in QUESTION_START, whose words follow-ups also drop from the words they
# carry: there "name" ("the name of the fund") is a content word.
ASKING_WORDS = QUESTION_START | {"name", "summarize", "summarise", "according"}


# The build's stemmer (bm25s.tokenize calls it), with PyStemmer's own word cache.
@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _query_stemmer() -> Stemmer.Stemmer:
    # PyStemmer caches every word it sees (10,000 of any length); on the request path the texts'
    # tokens are cached in bytes instead (_tokens), so this one keeps no cache of its own.
    return Stemmer.Stemmer("english", 0)


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


# What each SPELLING pattern cannot match without (lower-cased): the patterns cost ~15 us a
# sentence each, a substring test well under one, and most sentences need none of them.
SPELLING_NEEDS = (("ise", "isi", "isa"), ("tre",), ("our",), ("programme",))
# The letters re.IGNORECASE matches to an ASCII one from outside ASCII (İ ı ſ K): with any of
# them the substring tests above would not be exact, so every pattern runs.
CASE_ODD = frozenset("\u0130\u0131\u017f\u212a")


def fold_spelling(text: str) -> str:
    low = text.lower()
    exact = not CASE_ODD.intersection(text)
    for (pattern, repl), needs in zip(SPELLING, SPELLING_NEEDS):
        if not exact or any(n in low for n in needs):
            text = pattern.sub(repl, text)
            low = text.lower()
    if not exact or any(word in low for word in IRREGULAR):
        # (.get: a letter IGNORECASE folds, as ſ, is no key; NFKC input has none.)
        text = IRREGULAR_RE.sub(lambda m: IRREGULAR.get(m.group(1).lower(), m.group(1)), text)
    # Chinese runs become their (Simplified-folded) words: texts and questions alike.
    return chinese.segment(text)


# bm25s's token pattern, and single Chinese characters (the pieces of names jieba does not know).
TOKEN = re.compile(r"(?u)\b\w\w+\b|[" + chinese.HAN + "]")


@lru_cache(maxsize=1)
def _stopset() -> frozenset[str]:
    return frozenset(stopwords())


@bytes_cached(0.31)
def _tokens(text: str) -> tuple[str, ...]:
    """bm25s.tokenize's steps for one text (fold, lower, split, drop stopwords, stem): the same
    tokens, without its per-call vocabulary and progress-bar objects; cached (in bytes, keys
    included), as questions and the few top passages are tokenised several times per answer."""
    stop = _stopset()
    return tuple(_query_stemmer().stemWords([w for w in TOKEN.findall(fold_spelling(text).lower())
                                       if w not in stop]))


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words of each text."""
    return [list(_tokens(t)) for t in texts]


# Names are matched in text folded the same way: the variants table, the questions, the passages.
_FOLD = str.maketrans({**{c: " " for c in "-‐–—_/"}, "’": "'", "‘": "'"})


def fold_in_place(text: str) -> str:
    """Lower-case, hyphens and curly quotes folded; same length as the input, so offsets hold."""
    low = text.lower()
    if len(low) != len(text):
        # A few letters lower-case to two characters (İ); those keep their case.
        low = "".join(c if len(c) == 1 else ch for ch, c in ((ch, ch.lower()) for ch in text))
    return chinese.fold_same_length(low.translate(_FOLD))   # Traditional -> Simplified


# fold_key without its cache, as the variants table folds its names and a build its passages
# (corpus/variants.py): they are not the request path's questions and answers.
def fold_key_uncached(text: str) -> str:
    return re.sub(r"\s+", " ", fold_in_place(text)).strip()


@bytes_cached(0.1)
def fold_key(text: str) -> str:
    """Text folded for name matching: lower case, hyphens as spaces, one space between words."""
    return fold_key_uncached(text)
