"""Property tests: any Unicode text either becomes a document or fails with a clear DocumentError,
and splitting a document loses no sentence."""
from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.errors import DocumentError
from bot.corpus.passages import split_document
from bot.corpus.reading import parse_document

# Bounded: the suite's budget is minutes, and pysbd is slow on long inputs.
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])

WORDS = ["Hong", "Kong", "Chongqing", "Mr.", "Dr.", "agreed", "to", "trade", "56.11", "billion",
         "yuan", "youth", "exchanges", "e.g.", "i.e.", "U.S.", "(over)", "(end)", "Leave a Comment",
         "“quoted”", "—", "…", "#tag", "\\_", "•", "1.", "Photo by X / Y", "会议", "合作",
         "ｆｕｌｌｗｉｄｔｈ", "é", "e\u0301", "\u200b", "\u00a0", "\t", "!", "?", ";", ":", "."]
# Text shaped like the corpus: words, punctuation, headings, front matter, blank lines.
WORD = st.one_of(st.sampled_from(WORDS), st.text(alphabet=string.ascii_letters, min_size=1,
                                                  max_size=8))
LINE = st.one_of(
    st.lists(WORD, min_size=1, max_size=25).map(" ".join),
    st.builds(lambda h, ws: "#" * h + " " + " ".join(ws), st.integers(1, 6),
              st.lists(WORD, min_size=0, max_size=5)),
    st.just(""), st.just("---"), st.just("title: A title"), st.just("date: 2023-05-11"),
)
DOC_TEXT = st.lists(LINE, min_size=0, max_size=30).map("\n".join)
ANY_TEXT = st.text(max_size=400)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _parse_or_clear_error(raw: bytes | str):
    """The document, or None after checking the DocumentError names the text and says why."""
    try:
        return parse_document(raw, "doc", name="doc.md")
    except DocumentError as exc:
        message = str(exc)
        assert message.startswith("doc.md: ") and len(message) > len("doc.md: ") + 5, message
        assert "\n" not in message and "Traceback" not in message
        return None


def _no_sentence_lost(doc) -> None:
    passages = split_document(doc)
    cleaned = "".join(b.text for b in doc.blocks if not b.heading)
    in_passages = "".join(s for p in passages for s in p.sentence_texts())
    assert _squash(in_passages) == _squash(cleaned)
    for i, p in enumerate(passages):
        assert p.id == f"doc#{i}" and p.text.strip()
        for a, b in p.sentences:
            assert 0 <= a < b <= len(p.text)


@PROPERTY_SETTINGS
@given(ANY_TEXT)
@example("---\n: :\n---\n")
@example("---\n- a list\n---\nBody text.")
@example("\ufeff")
@example("# \n\n#")
def test_any_unicode_text_builds_or_fails_clearly(text):
    doc = _parse_or_clear_error(text)
    if doc is not None:
        assert doc.blocks and doc.title
        _no_sentence_lost(doc)


@PROPERTY_SETTINGS
@given(DOC_TEXT)
def test_corpus_like_text_loses_no_sentence(text):
    doc = _parse_or_clear_error(text)
    if doc is not None:
        _no_sentence_lost(doc)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
@example(b"\xff\xfe")
@example(b"a\x00b")
def test_any_bytes_build_or_fail_clearly(raw):
    doc = _parse_or_clear_error(raw)
    if doc is not None:
        _no_sentence_lost(doc)


@pytest.mark.parametrize("raw", ["", "   \n\t", "---\ntitle: [unclosed\n---\nText."])
def test_known_bad_texts_fail_with_a_document_error(raw):
    with pytest.raises(DocumentError):
        parse_document(raw, "doc", name="doc.md")
