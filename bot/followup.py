"""Turning a follow-up question into a standalone query, using the earlier turns."""
from __future__ import annotations

import re
from typing import Sequence

from . import chinese
from .lexical import stopwords

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
QUESTION_START = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did",
                  "does", "do", "is", "are", "was", "were", "can", "could", "will", "would",
                  "tell", "and", "also", "please", "give", "list", "show", "explain", "describe"}


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


def _content(text: str) -> list[str]:
    stop = set(stopwords()) | PRONOUNS | QUESTION_START
    return [w for w in WORD.findall(text) if w.lower() not in stop and len(w) > 1]


def names_in(text: str) -> list[str]:
    """Capitalised names of a turn, without a sentence's opening question word."""
    out = []
    for m in NAME.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower() in QUESTION_START | PRONOUNS | {"the"}:
            words = words[1:]
        phrase = " ".join(words)
        if phrase and phrase not in out:
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


def resolve(question: str, history: Sequence[str], answer: str = "") -> str:
    """The question itself when it stands alone; otherwise it with what it refers to.

    `history` holds the earlier user turns, oldest first; a turn that was itself a follow-up
    is resolved against the turns before it. `answer`, the bot's reply to the last turn when
    the client sent it, adds the names it gave (the lab "it" refers to may only be there)."""
    if not history or not needs_context(question):
        return question
    context = resolve(history[-1], history[:-1])
    if answer:
        context += " " + " ".join(names_in(answer.split(" [")[0])[:3])
    if chinese.is_chinese(question):
        carried = _carried_chinese(question, context)
    elif ELLIPSIS.search(question):
        # "And what about youth development?" keeps the subject (names), not the old topic.
        carried = [n for n in names_in(context) if n.lower() not in question.lower()]
    else:
        names = names_in(context)
        rest = [w for w in _content(context)
                if not any(w in n.split() for n in names) and not _is_verb_like(w)]
        carried = [n for n in names + rest if n.lower() not in question.lower()]
    if not carried:
        return question
    return f"{question.rstrip()} ({', '.join(carried)})"


def _carried_chinese(question: str, context: str) -> list[str]:
    """What a Chinese follow-up carries: the earlier turn's names (English or Chinese ones the
    variants table knows); without names, its Chinese words, unless the follow-up changes the
    topic (那…呢), which keeps nothing of the old one."""
    carried = names_in(context) + chinese.names_in(context)
    if not carried and not chinese.is_ellipsis(question):
        carried = chinese.content_words(context)
    asked = chinese.fold_same_length(question.lower())
    return [c for c in carried if chinese.fold_same_length(c.lower()) not in asked]
