"""Reading and cleaning source texts."""
from pathlib import Path

import pytest

from bot.corpus.cleaning import clean
from bot.errors import DocumentError
from bot.corpus.reading import parse_document, read_corpus, read_document

REPO_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_front_matter_and_id_from_file_name(tmp_path):
    path = tmp_path / "hk-visit-2023.md"
    path.write_text('---\ntitle: "A visit"\ndate: 2023-05-11\nsource: "Wire"\n---\nHello there. Bye.\n')
    doc = read_document(path)
    assert (doc.id, doc.title, doc.date, doc.source) == ("hk-visit-2023", "A visit", "2023-05-11", "Wire")


def test_text_without_front_matter_takes_its_heading_as_title():
    doc = parse_document(b"# Trade ties\n\nHong Kong and Chongqing trade a lot.\n", "plain")
    assert doc.title == "Trade ties" and doc.source == "" and doc.date == ""


def test_banner_furniture_hashtags_and_markdown_debris_are_removed():
    raw = ("Title line\n\nFirst Sight | Focus on the trip:\n\nReal paragraph one.\n\n"
           "First Sight | Focus on the trip:\n\nReal paragraph two.\n\n### \n\n\\_\\_\\_\\_\n\n"
           "#Sight #Chongqing #trip\n\nLeave a Comment\n\n"
           "This site uses Akismet to reduce spam. Learn how your comment data is processed.")
    texts = [b.text for b in clean(raw, title="Title line")]
    assert texts == ["Real paragraph one.", "Real paragraph two."]


def test_headings_are_kept_as_sections_both_marked_and_bare():
    raw = "# Finance\n\nEncourage banks.\n\nYouth Development\n\nPromote exchanges between youths.\n"
    blocks = clean(raw)
    assert [(b.text, b.heading) for b in blocks] == [
        ("Finance", True), ("Encourage banks.", False),
        ("Youth Development", True), ("Promote exchanges between youths.", False)]


def test_a_sentence_split_across_paragraphs_is_joined():
    blocks = clean("Support the docking and\n\nestablishment of relationships.\n")
    assert [b.text for b in blocks] == ["Support the docking and establishment of relationships."]


def test_site_bars_chinese_breadcrumbs_and_markdown_images_are_not_content():
    raw = ("GovHK 香港政府一站通 | Press Releases | Tuesday, January 3, 2017\n\n"
           "首頁 > 新聞公報 > 2024 > 12月 > 10日\n\n"
           "![簽署儀式](/gia/general/202412/10/photo.jpg)\n\n"
           "The memorandum was signed today. See [the plan](https://example.org/plan) for more.\n\n"
           "Hong Kong and Shenzhen agreed | the two sides signed it.\n")
    texts = [b.text for b in clean(raw)]
    assert texts == ["The memorandum was signed today. See the plan for more.",
                     "Hong Kong and Shenzhen agreed | the two sides signed it."]


def test_photo_credits_and_datelines_are_not_content():
    blocks = clean(" date 2023-05-11 On May 11 the meeting was held.Photo by reporter Long Fan/Visual Chongqing\n")
    assert blocks[0].text == "On May 11 the meeting was held."


@pytest.mark.parametrize("content,problem", [
    (b"", "empty"), (b"\x00\x01\x02binary", "binary"), (b"caf\xe9 au lait", "not UTF-8"),
    (b"---\ntitle: [unclosed\n---\nBody.", "malformed front matter"),
])
def test_unreadable_files_are_reported_by_name_and_skipped(tmp_path, content, problem):
    (tmp_path / "good.txt").write_text("A good sentence here.")
    (tmp_path / "bad.txt").write_bytes(content)
    docs, skipped = read_corpus(tmp_path)
    assert [d.id for d in docs] == ["good"]
    assert skipped[0][0] == "bad.txt" and problem in skipped[0][1]


def test_unsafe_document_ids_are_refused():
    with pytest.raises(DocumentError, match="not allowed"):
        parse_document(b"Text.", "../etc/passwd")


def test_the_real_corpus_reads_cleanly():
    docs, skipped = read_corpus(REPO_CORPUS)
    assert len(docs) == 5 and skipped == []
    text = " ".join(b.text for d in docs for b in d.blocks)
    for debris in ("First Sight of Chongqing |", "Leave a Comment", "Akismet", "#Sight", "\\_", "Home »"):
        assert debris not in text
    press = next(d for d in docs if d.id == "hk-chongqing-plenary-press-release-2023")
    headings = [b.text for b in press.blocks if b.heading]
    assert "Finance" in headings and "Youth Development" in headings
    assert "Health and Chinese Medicine" in headings


def test_markdown_debris_patterns_stay_linear_on_hostile_lines():
    import time
    for hostile in ("![x](" * 20_000, "[x](a" * 20_000, "[x](" + "a" * 100_000, "a | " * 30_000):
        started = time.perf_counter()
        clean(hostile)
        assert time.perf_counter() - started < 0.2, hostile[:12]
