"""Splitting documents into sentences and into passages of a few whole sentences."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import re
from functools import lru_cache

import pysbd

from . import chinese
from .texts import Document

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
    return [p for p in parts if p]


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, stripped; together they hold every word of it."""
    if chinese.has_sentence_ends(paragraph):
        return [c for s in chinese.split_sentences(paragraph) for c in _clauses(s)]
    return [c for s in _segmenter().segment(paragraph) if s.strip() for c in _clauses(s.strip())]


def _words(text: str) -> float:
    return chinese.size_in_words(text)   # whitespace words; Chinese counted by characters


def split_document(doc: Document, max_words: int = MAX_WORDS) -> list[Passage]:
    """Passages of whole sentences, never spanning two sections, ids `doc_id#n` in reading order."""
    passages: list[Passage] = []
    section = ""
    chunk: list[list[str]] = []   # paragraphs of sentences waiting to become a passage
    state = {"context": ""}   # context of the passage being filled

    def emit() -> None:
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
        passages.append(Passage(id=f"{doc.id}#{len(passages)}", doc_id=doc.id, title=doc.title,
                                source=doc.source, date=doc.date, section=section, text=text,
                                sentences=spans, context=context))
        chunk.clear()

    for block in doc.blocks:
        if block.heading:
            emit()
            section = block.text
            continue
        sentences = split_sentences(block.text)
        words_in_chunk = sum(_words(s) for para in chunk for s in para)
        para_words = sum(_words(s) for s in sentences)
        if chunk and words_in_chunk + para_words > max_words:
            emit()
            words_in_chunk = 0
        if not chunk:
            state["context"] = ""
        chunk.append([])
        for sent in sentences:
            n = _words(sent)
            if words_in_chunk and words_in_chunk + n > max_words:
                emit()
                chunk.append([])
                words_in_chunk = 0
                state["context"] = sentences[0]
            chunk[-1].append(sent)
            words_in_chunk += n
    emit()
    return passages


def split_corpus(docs: list[Document], max_words: int = MAX_WORDS) -> list[Passage]:
    return [p for doc in docs for p in split_document(doc, max_words)]
