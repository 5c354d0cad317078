"""Splitting documents into sentences and into passages of a few whole sentences."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import re
from functools import lru_cache

import pysbd

from ..text import chinese
from .limits import DEFAULT_LIMITS, ReadLimits
from .reading import Document

CONTEXT_WORDS = 25
MAX_WORDS = 160       # about two thirds of MiniLM's 256-token window: enough context to match paraphrases
PARAGRAPH_SEP = "\n\n"


@dataclass
class Passage:
    id: str
    doc_id: str
    title: str
    source: str
    date: str
    section: str
    text: str
    sentences: list[tuple[int, int]] = field(default_factory=list)  # char spans into text
    # The opening sentence of the paragraph when the passage continues one: "In her opinion"
    # needs "Ms. Xiang Junling ..." to be found. Indexed with the passage, never shown as it.
    context: str = ""
    page: int | None = None       # the PDF page it starts on; None for formats without pages
    page_end: int | None = None   # the page it ends on, when that is later
    url: str = ""                 # the document's own address (front matter, admin API)

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sentences"] = [list(span) for span in self.sentences]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Passage":
        data = dict(data)
        data["sentences"] = [tuple(span) for span in data.get("sentences", [])]
        return cls(**data)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


LONG_SENTENCE = 300   # characters; longer run-on sentences are cut at semicolons


def _clauses(sentence: str) -> list[str]:
    """A run-on sentence's semicolon clauses, so an answer can quote the one that matters."""
    if len(sentence) <= LONG_SENTENCE or "; " not in sentence:
        return [sentence]
    parts = [p.strip() for p in re.split(r"(?<=;)\s+", sentence)]
    # "... the following five areas: trade; ...": the sentence that introduces the list stands
    # apart from its first item, as it would had the items been lines of a list.
    intro, colon, first = parts[0].partition(": ")
    # ... not an item's own label ("peaceful purposes: all activities ...;").
    if colon and intro[:1].isupper() and len(intro.split()) >= 4:
        parts[0:1] = [intro + ":", first]
    return [p for p in parts if p]


# pysbd's time grows with the square of the text it is given (a 240 KB run of words: 17 s), so
# a paragraph longer than this is handed to it in windows cut after a sentence end. Every
# paragraph of the real corpus is shorter (the longest is 3,589 characters).
SEGMENT_WINDOW = 5000
SENTENCE_END = re.compile(r"[.!?]['\"”’)\]]*\s+|[。！？]['\"”’)\]」』]*\s*")


def _windows(paragraph: str, size: int = SEGMENT_WINDOW) -> list[str]:
    """The paragraph in pieces of at most `size` characters, cut after a sentence end when one
    lies in the second half of the piece, else at a space, else at the size."""
    pieces, start = [], 0
    while len(paragraph) - start > size:
        window = paragraph[start:start + size]
        cut = 0
        for match in SENTENCE_END.finditer(window, size // 2):
            cut = match.end()
        if not cut:
            space = window.rfind(" ", size // 2)
            cut = space + 1 if space > 0 else size
        pieces.append(paragraph[start:start + cut])
        start += cut
    pieces.append(paragraph[start:])
    return pieces


def _bounded(sentence: str, limit: int) -> list[str]:
    """A sentence longer than `limit` characters in pieces cut at the last space before the
    limit (for text without spaces, such as Chinese, at the limit itself)."""
    pieces = []
    while len(sentence) > limit:
        space = sentence.rfind(" ", limit // 2, limit + 1)
        cut = space if space > 0 else limit
        pieces.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    if sentence:
        pieces.append(sentence)
    return pieces


def split_sentences(paragraph: str, limits: ReadLimits = DEFAULT_LIMITS) -> list[str]:
    """Sentences of a paragraph, stripped and at most MAX_SENTENCE_CHARS long; together they
    hold every word of it."""
    limit = int(limits.max_sentence_chars)
    if chinese.has_sentence_ends(paragraph):
        return [b for s in chinese.split_sentences(paragraph) for c in _clauses(s)
                for b in _bounded(c, limit)]
    return [b for window in _windows(paragraph) for s in _segmenter().segment(window)
            if s.strip() for c in _clauses(s.strip()) for b in _bounded(c, limit)]


def _words(text: str) -> float:
    return chinese.size_in_words(text)   # whitespace words; Chinese counted by characters


def split_document(doc: Document, max_words: int = MAX_WORDS,
                   max_chars: int | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> list[Passage]:
    """Passages of whole sentences, never spanning two sections or PDF pages, ids `doc_id#n` in reading order;
    at most `max_words` words and `max_chars` characters (MAX_PASSAGE_CHARS) unless one
    sentence is longer (sentences are bounded by MAX_SENTENCE_CHARS)."""
    if max_chars is None:
        max_chars = int(limits.max_passage_chars)
    passages: list[Passage] = []
    section = ""
    chunk: list[list[str]] = []   # paragraphs of sentences waiting to become a passage
    state = {"context": ""}   # context of the passage being filled
    pages: list[int] = []     # pages of the blocks in the passage being filled

    def emit(keep: list[int] | None = None) -> None:
        """Make a passage of the chunk; `keep`: the pages of a block it was cut inside of."""
        if not any(chunk):
            chunk.clear()
            return
        text, spans = "", []
        for p_i, para in enumerate(p for p in chunk if p):
            for s_i, sent in enumerate(para):
                if text:
                    text += PARAGRAPH_SEP if s_i == 0 and p_i > 0 else " "
                spans.append((len(text), len(text) + len(sent)))
                text += sent
        context = " ".join(state["context"].split()[:CONTEXT_WORDS])
        first, last = (min(pages), max(pages)) if pages else (None, None)
        passages.append(Passage(id=f"{doc.id}#{len(passages)}", doc_id=doc.id, title=doc.title,
                                source=doc.source, date=doc.date, section=section, text=text,
                                sentences=spans, context=context, page=first,
                                page_end=last if last != first else None, url=doc.url))
        chunk.clear()
        pages[:] = keep or []

    for block in doc.blocks:
        if block.heading:
            emit()
            # Every passage of the section carries its heading: a long one is cut like a title.
            section = _bounded(block.text, int(limits.max_meta_chars))[0]
            continue
        sentences = split_sentences(block.text, limits)
        block_pages = [p for p in (block.page, block.page_end) if p is not None]
        words_in_chunk = sum(_words(s) for para in chunk for s in para)
        chars_in_chunk = sum(len(s) + 2 for para in chunk for s in para)
        para_words = sum(_words(s) for s in sentences)
        para_chars = sum(len(s) + 2 for s in sentences)
        # A passage stays on its page (a citation opens the original there).
        new_page = bool(pages) and block.page is not None and block.page != pages[-1]
        if chunk and (new_page or words_in_chunk + para_words > max_words
                      or chars_in_chunk + para_chars > max_chars):
            emit()
            words_in_chunk = chars_in_chunk = 0
        if not chunk:
            state["context"] = ""
        pages.extend(block_pages)
        chunk.append([])
        for sent in sentences:
            n = _words(sent)
            # A separator counts as 2 characters: the bound holds whatever joins the sentences.
            if words_in_chunk and (words_in_chunk + n > max_words
                                   or chars_in_chunk + len(sent) > max_chars):
                emit(block_pages)
                chunk.append([])
                words_in_chunk = chars_in_chunk = 0
                state["context"] = sentences[0]
            chunk[-1].append(sent)
            words_in_chunk += n
            chars_in_chunk += len(sent) + 2
    emit()
    return passages


def split_corpus(docs: list[Document], max_words: int = MAX_WORDS,
                 limits: ReadLimits = DEFAULT_LIMITS) -> list[Passage]:
    return [p for doc in docs for p in split_document(doc, max_words, limits=limits)]
