"""Composing the short answer from the best sentences of the retrieved passages, with citations."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..index.loaded import CorpusIndex
from ..text import chinese
from ..text.words import fold_key, tokenize
from .asked import (agent_of, asked_thing_zh, asked_type, asks_list, gives, group_forms, missing_names,
                    names_a_named_body, names_a_titled_person)
from .followup import names_in
from ..index.bm25 import LexicalIndex
from .retrieval import Hit, lexical_reach

MAX_ANSWER_CHARS = 450     # a short answer, well under what a chat bubble holds
MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.95  # a second sentence must score nearly as well as the first
LEXICAL_WEIGHT = 0.5
RANK_PENALTY = 0.02        # a later passage must win on its own sentence, not on rank alone
# A sentence that holds the kind of thing asked (a date for "when") beats one that only
# shares the question's words: the bonus is about what the lexical part can add at most.
TYPE_WEIGHT = 0.35
# "Which documents did she sign?" is answered by the documents' names more often than by the
# word "documents", which a sentence that only restates the question has too: naming X is
# weak evidence (measured: the X was missing from 16 of 40 right answers' sentences).
THING_WEIGHT = 0.1
# "Who chaired it?": a sentence naming someone by title ("Foreign Minister Laurent Fabius")
# beats one whose capitalised words may be a place or a treaty. Measured: 0.15 gained three
# answers and lost none on every set; 0.3 lost two.
TITLED_WEIGHT = 0.15
# "Who signed it?": "it was signed by Minister Wu" says who did it, where a sentence naming
# the minister beside it ("witnessed the signing") may not.
AGENT_WEIGHT = 0.15       # measured: two answers gained, none lost; 0.3 lost two
# "Which sectors will it focus on?": the sentence that introduces a list of them ("the
# following four priority areas:") gives them all, though it shares few of the question's
# words; one that names a sector in passing does not.
LIST_WEIGHT = 0.5
# ... and a sentence that names several in a row ("the Science Park, the West Kowloon Cultural
# District and the University of Hong Kong") gives some of it.
ENUMERATION_WEIGHT = 0.15     # measured: five answers gained, none lost; 0.3 lost a hit more
# A follow-up that changes the topic ("And what about youth development?") keeps the earlier
# turn's subject: a sentence whose passage lacks those names answers about someone else, and
# loses this, times the share of them missing, to one whose passage has them.
SUBJECT_WEIGHT = 0.3
AROUND_SHARE = 0.5         # of a word's weight, when the sentence's passage has it, not the sentence
TITLE_SHARE = 0.25         # ... when its document's title has it
# A sentence that says the question's event in any of its words ("take effect" for "come
# into force"): its date or number is that event's, not the signing's told beside it.
PHRASE_WEIGHT = 0.2
FOLLOWUP_OWN = 2.0         # weight of a follow-up's own words against the carried ones
FOCUS_WEIGHT = 2.0         # weight of the words after "about" against the question's others
MAX_LIST_ITEMS = 12        # a list brought with the sentence that introduces it
MAX_LIST_CHARS = 420
LIST_INTRO = re.compile(r"[:：]\s*$")
INLINE_LIST = re.compile(r"[:：]\s+(.+)$")
COUNT_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
               "eleven", "twelve"]


@dataclass
class Candidate:
    hit_rank: int
    position: int          # sentence number within the passage
    text: str
    score: float
    gives_type: bool = True


_SEPARATOR = re.compile(r"\s*[,;、]\s*")
_ENDS_NAMED = re.compile(r"[A-Z][\w'’-]*$")
_STARTS_NAMED = re.compile(r"(?:and\s+|or\s+)?(?:the\s+)?[A-Z]")


def enumerates(text: str) -> bool:
    """Whether `text` names three or more things in a row, "A, B, C and D" (capitalised, split
    by commas): one split and a look at each piece's ends, linear in the text."""
    parts = _SEPARATOR.split(text)
    run = 0
    for before, after in zip(parts, parts[1:]):
        run = run + 1 if _ENDS_NAMED.search(before) and _STARTS_NAMED.match(after) else 0
        if run >= 2:
            return True
    return False


def term_weights(lexical: LexicalIndex, query: str) -> dict[str, float]:
    tokens = tokenize([query])[0]
    return lexical.idf(sorted(set(tokens)))


def prepare(passage: Any) -> None:
    """What rank_candidates computes for a passage it sees first (its sentences' words, its
    heading's), computed ahead (engine.Bot.warm): the caches keep it."""
    tokenize(passage.sentence_texts())
    tokenize([passage.section or ""])


def rank_candidates(index: CorpusIndex, hits: Sequence[Hit], query_vector: np.ndarray,
                    weights: dict[str, float], names: set[str] = frozenset(),
                    question: str = "", subject_miss: Sequence[float] = (),
                    reach: float = 1.0, subject: Sequence[str] = (),
                    forms: Sequence[set[str]] = (),
                    phrases: Sequence[Sequence[frozenset[str]]] = ()) -> list[Candidate]:
    """Every sentence of the retrieved passages, best answer first.

    Relevance is meaning (the sentence's cosine) plus shared rare words: a word every candidate
    shares tells them apart less than the one only the answer has, so words are weighted by
    their rarity among the candidates as well as in the corpus. The question's names count for
    every sentence of a passage that has them ("the laboratory focuses on ..." is about it
    through its passage). Then the asked type: a sentence that gives what is asked (a date
    for "when", a number of the thing counted for "how many", a person for "who", a place for
    "where", an X for "which X") gets TYPE_WEIGHT (THING_WEIGHT for an X; TITLED_WEIGHT more
    for a person named by title). `subject_miss`: per hit, the share of a topic-changing
    follow-up's carried names its passage lacks (SUBJECT_WEIGHT); `subject`: those names
    or the question's own, with `forms` (asked.group_forms), which a list must be about
    (LIST_WEIGHT); `phrases`: the word sets of each form of the phrases the question matched
    in the variants table (PHRASE_WEIGHT). `reach`: the
    share of the question's words the texts can hold (retrieval.lexical_reach): a question in
    Chinese over English texts shares only its names with them, and those would decide."""
    kind = asked_type(question) if question else None
    # Not "which officials ...": a list of agreements is no list of people.
    # With the query's words: a Chinese question's 签署 is "signed" in an English text.
    asked_words = set(tokenize([question])[0]) | set(weights) if kind in ("person", "body") \
        else set()
    wants_list = kind in (None, "thing") and bool(question) and asks_list(question)
    thing_zh = asked_thing_zh(question) if wants_list else None   # read once, not per intro
    # "Which cities ...": a run of place names is the list, as for any other thing.
    wants_places = kind == "place" and bool(question) and asks_list(question)
    pool: list[Candidate] = []
    tokens: list[set[str]] = []
    around: list[set[str]] = []   # what a sentence is about through its passage
    in_title: list[set[str]] = []   # ... and through its document's title
    for rank, hit in enumerate(hits):
        passage = index.passages[hit.idx]
        sims = index.sentence_vectors[index.sentence_rows(hit.idx)] @ query_vector
        texts = passage.sentence_texts()
        sentence_tokens = tokenize(texts)
        in_passage = names & set().union(*map(set, sentence_tokens)) if texts else set()
        # A section heading says what every sentence under it is about ("Finance").
        heading = set(tokenize([passage.section or ""])[0])
        # ... and the document's title what every sentence of it is about: "Who signed the
        # Hong Kong–Hainan memorandum on green finance?" restates a title, which the lead
        # sentence repeats; the one that says who signed it need not.
        titled = set(tokenize([passage.title or ""])[0])
        # What someone said: a speech's sentences after "Lee said that ..." say it too.
        said = kind == "speech" and any(gives(kind, t, question) for t in texts)
        for pos, (text, toks) in enumerate(zip(texts, sentence_tokens)):
            miss = subject_miss[rank] if rank < len(subject_miss) else 0.0
            sim = float(sims[pos])
            if pos + 1 < len(texts) and LIST_INTRO.search(text):
                # "The memorandum covers the following five areas:" means what its items say.
                sim = max(sim, float(sims[pos + 1]))
            pool.append(Candidate(rank, pos, text,
                                  sim - RANK_PENALTY * rank - SUBJECT_WEIGHT * miss,
                                  said or gives(kind, text, question)))
            tokens.append(set(toks) | heading)
            around.append(in_passage - set(toks))
            in_title.append(titled - set(toks) - in_passage)
    n = len(pool)
    local = {t: w * np.log((n + 1) / (sum(t in toks for toks in tokens) + 0.5))
             for t, w in weights.items()}
    total = sum(v for v in local.values() if v > 0)
    for cand, toks, ar, tl in zip(pool, tokens, around, in_title):
        if total:
            # A name said elsewhere in the passage counts half: the sentence that says it
            # itself is the better answer.
            own = sum(v for t, v in local.items() if t in toks and v > 0)
            near = sum(v for t, v in local.items() if t in ar and v > 0)
            titled_near = sum(v for t, v in local.items() if t in tl and v > 0)
            cand.score += LEXICAL_WEIGHT * reach * (own + AROUND_SHARE * near
                                                    + TITLE_SHARE * titled_near) / total
        if phrases and all(any(form <= toks for form in group) for group in phrases):
            cand.score += PHRASE_WEIGHT
        if kind not in (None, "yesno") and cand.gives_type:
            cand.score += THING_WEIGHT if kind == "thing" else TYPE_WEIGHT
            if kind == "person" and (names_a_titled_person(cand.text)
                                     or names_a_named_body(cand.text)):
                cand.score += TITLED_WEIGHT
            if kind in ("person", "body") and agent_of(cand.text, asked_words):
                cand.score += AGENT_WEIGHT
        if (wants_list or wants_places) and not LIST_INTRO.search(cand.text) \
                and enumerates(cand.text):
            # "The eight founding members are: Australia, Canada, ...": the list itself, as
            # whole an answer as a sentence that introduces one with its items.
            inline = INLINE_LIST.search(cand.text)
            cand.score += LIST_WEIGHT if inline and enumerates(inline.group(1)) \
                else ENUMERATION_WEIGHT
        if wants_list and LIST_INTRO.search(cand.text) and _names_the_thing(cand.text, thing_zh):
            about = _list_about(index, hits[cand.hit_rank].idx, cand.position, subject, forms)
            if about:
                # Its items are the Xs of "which Xs", whatever word it calls them by.
                cand.score += about * (LIST_WEIGHT + (
                    THING_WEIGHT if kind == "thing" and not cand.gives_type else 0.0))
                cand.gives_type = True
    pool.sort(key=lambda c: -c.score)
    return pool


def _names_the_thing(intro: str, thing: str | None) -> bool:
    """Whether a Chinese sentence that introduces a list names what a Chinese question asks for
    (`thing`, asked.asked_thing_zh: "以下五个方面：" for 哪些方面): Chinese shares few words with
    a question and its lists ("以下区域：", "以下目标：") differ by that word alone. English
    intros are judged by their words."""
    if not chinese.has_han(intro):
        return True
    return bool(thing) and thing in chinese.to_simplified(intro)


def _list_about(index: CorpusIndex, hit_idx: int, position: int, subject: Sequence[str],
                forms: Sequence[set[str]]) -> float:
    """How far the list the sentence at `position` introduces is about the question's names
    (`subject`): 0 when it has no items, or when it lacks a name its passage holds ("Which
    documents did Eric Chan sign" is not answered by a list of what departments signed,
    beside his signature); else the share of the names its passage holds."""
    items = list_items(index, hit_idx, position)
    if not items:
        return 0.0
    if not subject:
        return 1.0
    passage = index.passages[hit_idx]
    held = missing_names(fold_key(f"{passage.title} {passage.text}"), subject, forms)
    # The list whole (its items in the answer are cut to a length): from the sentence on, under
    # its document's title, which names what the whole document is about.
    start = passage.sentences[position][0]
    said = missing_names(fold_key(" ".join([passage.title, passage.text[start:], *items])),
                         subject, forms)
    return 0.0 if said > held else 1.0 - held / len(subject)


def pick_sentences(pool: Sequence[Candidate]) -> list[Candidate]:
    """The answer's sentences from the ranked candidates: the best, and a second nearly as good."""
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


def margin(pool: Sequence[Candidate]) -> float:
    """How far the best candidate is above the best one from another passage."""
    if not pool:
        return 0.0
    best = pool[0]
    other = next((c.score for c in pool[1:] if c.hit_rank != best.hit_rank), None)
    return float(best.score - other) if other is not None else 0.5


def _clip(text: str, weights: dict[str, float], limit: int = MAX_ANSWER_CHARS,
          question: str = "") -> str:
    """A run-on sentence cut to the stretch of comma-separated parts that matches the query best;
    a part that gives the asked type ("During his stay in Hong Kong," for "where") weighs as
    much as all the question's words, so the clause that answers is never cut off."""
    if len(text) <= limit:
        return text
    parts = re.split(r"(?<=,)\s+", text)
    kind = asked_type(question) if question else None
    full = sum(weights.values()) or 1.0
    scores = [sum(weights.get(t, 0.0) for t in set(toks)) for toks in tokenize(parts)]
    if kind not in (None, "yesno", "thing"):
        scores = [s + (full if gives(kind, part, question) else 0.0) for s, part in zip(scores, parts)]
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


def list_items(index: CorpusIndex, hit_idx: int, position: int) -> list[str]:
    """What a sentence ending in ":" introduces: the sentences after it in its passage when
    there are any, else the section headings of the passages that follow it in its document
    (a press release's "the following 11 areas:" then one section per area); bounded."""
    passage = index.passages[hit_idx]
    texts = passage.sentence_texts()
    items: list[str] = []
    if position + 1 < len(texts):
        # The items written as sentences of the passage: the next one, and on while an item
        # ends as a list item does (";", "; and", ",").
        for t in texts[position + 1:]:
            items.append(t.strip())
            if not re.search(r"([;,；，]|\band|\bor)\s*$", t.strip()):
                break
    else:
        seen = {passage.section}
        row = hit_idx + 1
        while row < len(index.passages) and len(items) < MAX_LIST_ITEMS:
            nxt = index.passages[row]
            if nxt.doc_id != passage.doc_id:
                break
            if nxt.section and nxt.section not in seen:
                seen.add(nxt.section)
                items.append(nxt.section.strip())
            row += 1
    # "the following 11 areas:" says how many items there are.
    stated = re.search(r"\b(\d{1,2}|" + "|".join(COUNT_WORDS) + r")\b(?!.*\b\d)", texts[position], re.I)
    count = MAX_LIST_ITEMS
    if stated:
        word = stated.group(1).lower()
        count = min(count, int(word) if word.isdigit() else COUNT_WORDS.index(word) + 1)
    out: list[str] = []
    size = 0
    for item in items[:count]:
        if size + len(item) + 2 > MAX_LIST_CHARS:
            out.append("…")
            break
        out.append(item.rstrip(";.；。 "))
        size += len(item) + 2
    return out


def _with_list(index: CorpusIndex, hits: Sequence[Hit], cand: Candidate) -> str:
    if not LIST_INTRO.search(cand.text):
        return cand.text
    items = list_items(index, hits[cand.hit_rank].idx, cand.position)
    if not items:
        return cand.text
    if chinese.has_han(cand.text):
        return f"{cand.text.rstrip()}{'；'.join(items)}。"
    return f"{cand.text.rstrip()} {'; '.join(items)}."


def citation_link(index: CorpusIndex, p, sentences: list[str]) -> dict[str, Any]:
    """`page` (PDF passages), `url` (where to open the original at the cited sentences) and
    `document_url` (the document's own address, when it has one)."""
    from ..index.originals import citation_url
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
    doc = docs.get(p.doc_id)
    url = citation_url(doc, p.doc_id, getattr(p, "page", None), sentences, root)
    if url:
        out["url"] = url
    if doc and doc.get("url"):   # where it is published, besides where it opens (the viewer)
        out["document_url"] = doc["url"]
    return out


def _citation(index: CorpusIndex, hit: Hit, n: int, spans: list[tuple[int, int]]) -> dict[str, Any]:
    p = index.passages[hit.idx]
    link = citation_link(index, p, [p.text[a:b] for a, b in sorted(spans)])
    return {
        "n": n, "doc_id": p.doc_id, "title": p.title, "source": p.source,
        "date": p.date, "passage_id": p.id, "section": p.section, "text": p.text,
        "highlights": [list(s) for s in sorted(spans)],
        "score": round(max(hit.dense, hit.sentence), 4),
        "also_in": [{"passage_id": d.id, "doc_id": d.doc_id, "title": d.title,
                     "source": d.source, "date": d.date}
                    for d in (index.passages[r] for r in hit.duplicates)],
        **link,
    }


def related(index: CorpusIndex, hits: Sequence[Hit], skip: set[int] = frozenset(),
            start: int = 1) -> list[dict[str, Any]]:
    """The retrieved passages the answer does not cite, in retrieval order, without highlights."""
    out = []
    for rank, hit in enumerate(hits):
        if rank not in skip:
            out.append(_citation(index, hit, start + len(out), []))
    return out


def subject_misses(index: CorpusIndex, hits: Sequence[Hit], subject: Sequence[str],
                   groups: Sequence[dict[str, Any]] = ()) -> list[float]:
    """Per hit, the share of the `subject` names its passage (with its title) holds in no form
    the variants table knows."""
    if not subject:
        return []
    forms = group_forms(groups)
    return [missing_names(fold_key(f"{p.title} {p.text}"), subject, forms) / len(subject)
            for p in (index.passages[h.idx] for h in hits)]


def choose(index: CorpusIndex, hits: Sequence[Hit], query_vector: np.ndarray,
           query: str, question: str | None = None, subject: Sequence[str] = (),
           groups: Sequence[dict[str, Any]] = (), subject_share: float = 1.0,
           kind_from: str | None = None) -> list[Candidate]:
    """All candidate sentences, ranked for the question (the asked type is read from
    `question`, the user's own words; relevance from `query`, which carries the context;
    `subject`: the names a topic-changing follow-up keeps, or the question's own, which the
    answer's passage should hold; `subject_share`: of SUBJECT_WEIGHT, what missing them costs)."""
    weights = term_weights(index.lexical, query)
    if question and question != query:
        # A follow-up's own words say what is asked; the carried context only what about.
        own = set(tokenize([question])[0])
        weights = {t: w * (FOLLOWUP_OWN if t in own else 1.0) for t, w in weights.items()}
    # "What did he say about the relationship ...?": what follows "about" is what is asked.
    about = re.search(r"\babout\b(.*)", question or query, re.I)
    if about:
        focus = set(tokenize([about.group(1)])[0])
        weights = {t: w * (FOCUS_WEIGHT if t in focus else 1.0) for t, w in weights.items()}
    names = set(tokenize([" ".join(names_in(query))])[0])
    miss = [m * subject_share for m in subject_misses(index, hits, subject, groups)]
    reach = lexical_reach(index, question or query, groups)
    # `kind_from`: the question whose kind is asked, for an elliptical follow-up ("And for
    # Malaysia?" asks what the earlier turn asked).
    phrases = [[frozenset(t) for t in tokenize(list(g["names"])) if t]
               for g in groups if g.get("type") == "phrase"]
    return rank_candidates(index, hits, query_vector, weights, names,
                           kind_from or question or query, miss, reach, subject,
                           group_forms(groups), phrases)


def compose(index: CorpusIndex, hits: Sequence[Hit], query_vector: np.ndarray, query: str,
            question: str | None = None, pool: Sequence[Candidate] | None = None,
            ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(answer with [n] markers, the citations it cites numbered in the order it first cites
    them, the other retrieved passages as related)."""
    question = question or query
    if pool is None:
        pool = choose(index, hits, query_vector, query, question)
    weights = term_weights(index.lexical, query)
    chosen = pick_sentences(pool)
    if chosen and LIST_INTRO.search(chosen[0].text):
        chosen = chosen[:1]   # the list is the answer; a second sentence would crowd it out
    # A second sentence that introduces a list would bring it past the answer's length, or
    # end the answer on "the following key points:".
    chosen = chosen[:1] + [c for c in chosen[1:] if not LIST_INTRO.search(c.text)]
    # Read in passage order when both sentences come from one passage.
    if chosen:
        lead = chosen[0].hit_rank
        chosen.sort(key=lambda c: (0, c.position) if c.hit_rank == lead else (1, 0))
    numbers: dict[int, int] = {}
    pieces = []
    for c in chosen:
        n = numbers.setdefault(c.hit_rank, len(numbers) + 1)
        text = _with_list(index, hits, c)
        if text == c.text:
            text = _clip(c.text, weights, question=question)
        pieces.append(f"{text} [{n}]")
    citations = [_citation(index, hits[rank], n,
                           [index.passages[hits[rank].idx].sentences[c.position]
                            for c in chosen if c.hit_rank == rank])
                 for rank, n in sorted(numbers.items(), key=lambda kv: kv[1])]
    return " ".join(pieces), citations, related(index, hits, set(numbers), len(citations) + 1)
