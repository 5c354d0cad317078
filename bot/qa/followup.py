"""Turning a follow-up question into a standalone query, using the earlier turns."""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain
from typing import Iterable, Sequence

from ..text import chinese
from ..text.words import QUESTION_START, stopwords

PRONOUNS = {"he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs", "it", "its",
            "there", "that", "this", "these", "those", "then", "one", "ones", "the latter",
            "the former", "same"}
# Words that point back without a pronoun: "Who else attended?", "How did John Lee respond?"
CUES = {"else", "other", "others", "another", "respond", "responded", "reply", "replied", "react",
        "reacted", "too", "either", "rest", "afterwards", "next", "before", "after"}
ELLIPSIS = re.compile(r"^\s*(and|also|so|but)?\s*(what|how)\s+about\b|^\s*and\b|^\s*(also|what else)\b",
                      re.IGNORECASE)
WORD = re.compile(r"[\w’'-]+")
# A run of capitalised words ("Gong Zheng", "Shanghai Global Promotion Conference").
NAME = re.compile(r"(?<![\w-])(?:[A-Z][\w’'-]*)(?:\s+(?:(?:of|and|for|the)\s+)?[A-Z][\w’'-]*)*")


# Verbs of the earlier question describe what was asked then, not what "it" or "he" is.
COMMON_VERBS = {"attend", "attended", "say", "said", "sign", "signed", "meet", "met", "visit",
                "visited", "go", "went", "do", "done", "make", "made", "take", "took", "hold",
                "held", "lead", "led", "see", "saw", "agree", "agreed", "give", "gave", "plan",
                "planned", "announce", "announced", "launch", "launched", "happen", "happened"}


def _is_verb_like(word: str) -> bool:
    w = word.lower()
    return w in COMMON_VERBS or (len(w) > 5 and w.endswith(("ed", "ing")))


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


# What a follow-up may carry, whatever the history holds: the work and the query stay bounded.
CONTEXT_TURNS = 5        # earlier user turns a chain of follow-ups can reach back through
MAX_CARRIED = 24         # names and words carried from them (3 in a usual follow-up, 22 seen)
MAX_CARRIED_CHARS = 240  # their length together (36 usual, 192 seen)
MAX_NAME_CHARS = 80      # a longer run of capitalised words is not a name anyone refers back to


@lru_cache(maxsize=1)
def _stop() -> frozenset[str]:
    return frozenset(stopwords()) | PRONOUNS | QUESTION_START


def _content(text: str) -> list[str]:
    stop = _stop()
    return [w for w in WORD.findall(text) if w.lower() not in stop and len(w) > 1]


_OPENERS = QUESTION_START | PRONOUNS | {"the"}


def names_in(text: str) -> list[str]:
    """Capitalised names of a turn, without a sentence's opening question word."""
    out: list[str] = []
    seen: set[str] = set()
    for m in NAME.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower() in _OPENERS:
            words = words[1:]
        phrase = " ".join(words)
        if phrase and phrase not in seen:
            seen.add(phrase)
            out.append(phrase)
    return out


def needs_context(question: str) -> bool:
    if chinese.is_chinese(question):
        return chinese.refers_back(question)
    words = _words(question)
    if ELLIPSIS.search(question):
        return True
    text = " " + " ".join(words) + " "
    return (any(f" {p} " in text for p in PRONOUNS) or bool(CUES & set(words))
            or len(_content(question)) == 0)


def changes_topic(question: str) -> bool:
    """ "And what about youth development?", "那金融方面呢？": a follow-up that keeps the
    earlier turn's subject (its names) and asks about something else."""
    return chinese.is_ellipsis(question) if chinese.is_chinese(question) \
        else bool(ELLIPSIS.search(question))


def _carried(question: str, context: str) -> list[str]:
    """What of `context` the follow-up `question` refers to: its names first, then (unless the
    question only changes the topic) its other content words; once each, at most MAX_CARRIED
    and MAX_CARRIED_CHARS, none the question already says."""
    if chinese.is_chinese(question):
        candidates, key_of = _chinese_candidates(question, context), _chinese_key
    else:
        candidates, key_of = _english_candidates(question, context), str.lower
    asked = key_of(question)
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for item in candidates:
        key = key_of(item)
        if key in seen or key in asked:
            continue
        if len(out) == MAX_CARRIED or size + len(item) + 2 > MAX_CARRIED_CHARS:
            break
        seen.add(key)
        out.append(item)
        size += len(item) + 2
    return out


def _english_candidates(question: str, context: str) -> Iterable[str]:
    names = names_in(context)
    candidates: Iterable[str] = (n for n in names if len(n) <= MAX_NAME_CHARS)
    # "And what about youth development?" keeps the subject (names), not the old topic;
    # "And for Malaysia?" keeps the topic too, its verbs with it: only the name changes.
    swap = swaps_entity(question)
    if swap or not ELLIPSIS.search(question):
        in_names = {w for n in names for w in n.split()}
        candidates = chain(candidates, (w for w in _content(context)
                                        if w not in in_names and (swap or not _is_verb_like(w))))
    return candidates


_LEAD_PREPOSITION = re.compile(r"^(?:for|in|at|of|on|with|to|from|by)\s+", re.I)


def swaps_entity(question: str) -> bool:
    """Whether an elliptical follow-up only names another thing ("And for Malaysia?", "What
    about the EU?"): it asks the earlier question again about that."""
    rest = _LEAD_PREPOSITION.sub("", ELLIPSIS.sub("", question, count=1).strip(" ?.!,"))
    words = rest.split()
    return bool(words) and len(words) <= 6 and all(
        w[0].isupper() or w.lower() in ("the", "of", "and") for w in words) \
        and any(w[0].isupper() for w in words)


def _chinese_key(text: str) -> str:
    return chinese.fold_same_length(text.lower())


def _chinese_candidates(question: str, context: str) -> list[str]:
    """What a Chinese follow-up carries: the earlier turn's names (English or Chinese ones the
    variants table knows); without names, its Chinese words, unless the follow-up changes the
    topic (那…呢), which keeps nothing of the old one."""
    carried = [n for n in names_in(context) if len(n) <= MAX_NAME_CHARS] + chinese.names_in(context)
    if not carried and not chinese.is_ellipsis(question):
        carried = chinese.content_words(context)
    return carried


def _attach(question: str, context: str) -> str:
    carried = _carried(question, context)
    return f"{question.rstrip()} ({', '.join(carried)})" if carried else question


def resolve(question: str, history: Sequence[str], answer: str = "") -> str:
    """The question itself when it stands alone; otherwise it with what it refers to.

    `history` holds the earlier user turns, oldest first; a turn that was itself a follow-up
    is resolved against the turns before it, back to the last CONTEXT_TURNS. `answer`, the
    bot's reply to the last turn when the client sent it, adds the names it gave (the lab "it"
    refers to may only be there). At most CONTEXT_TURNS turns and the answer are read, each
    step carries a bounded context, so the work and the query are bounded whatever the history."""
    turns = list(history[-CONTEXT_TURNS:])
    if not turns or not needs_context(question):
        return question
    # The chain starts at the latest turn that stands alone (or the earliest one read).
    start = len(turns) - 1
    while start > 0 and needs_context(turns[start]):
        start -= 1
    context = turns[start]
    for turn in turns[start + 1:]:
        context = _attach(turn, context)
    if answer:
        context += " " + " ".join(names_in(answer.split(" [")[0])[:3])
    return _attach(question, context)
