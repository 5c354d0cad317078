"""Splitting documents into passages of whole sentences."""
import re
from pathlib import Path

from bot.corpus.passages import MAX_WORDS, split_document, split_sentences
from bot.corpus.reading import parse_document, read_corpus

REPO_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_sentence_of_the_cleaned_text_lands_in_a_passage():
    docs, _ = read_corpus(REPO_CORPUS)
    for doc in docs:
        passages = split_document(doc)
        cleaned = "".join(b.text for b in doc.blocks if not b.heading)
        in_passages = "".join(s for p in passages for s in p.sentence_texts())
        assert _squash(in_passages) == _squash(cleaned), doc.id


def test_passages_are_a_few_whole_sentences_with_metadata():
    docs, _ = read_corpus(REPO_CORPUS)
    for doc in docs:
        for p in split_document(doc):
            assert p.doc_id == doc.id and p.title == doc.title and p.date == doc.date
            assert len(p.text.split()) <= MAX_WORDS or len(p.sentences) == 1
            for a, b in p.sentences:  # spans point at sentences inside the stored text
                assert p.text[a:b].strip() == p.text[a:b] and b - a > 0


def test_sections_and_stable_ids():
    raw = "# Finance\n\nOne. Two.\n\n# Youth Development\n\nThree youth sentences. Four.\n"
    first = split_document(parse_document(raw, "doc"))
    again = split_document(parse_document(raw, "doc"))
    assert [p.id for p in first] == ["doc#0", "doc#1"] == [p.id for p in again]
    assert [p.section for p in first] == ["Finance", "Youth Development"]


def test_a_continued_paragraph_keeps_its_opening_sentence_as_context():
    long = "Ms Xiang said the visit matters. " + " ".join(f"In her opinion point {i} holds." for i in range(30))
    passages = split_document(parse_document(long, "doc"))
    assert len(passages) > 1
    assert passages[0].context == "" and passages[1].context.startswith("Ms Xiang said")


def test_abbreviations_do_not_end_sentences():
    assert split_sentences("Mr. Li Jiachao met Dr. Li Xiaoming. It cost 56.11 billion yuan.") == [
        "Mr. Li Jiachao met Dr. Li Xiaoming.", "It cost 56.11 billion yuan."]
