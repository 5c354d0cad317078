"""Chinese questions and documents: sentences, passages, BM25 words, name variants, follow-ups,
refusals in the question's language (fake encoder: lexical matching and variants only)."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from bot.qa.abstention import evidence
from bot.index.build import build_index
from bot.qa.engine import NO_ANSWER, Bot
from bot.qa.followup import resolve
from bot.index.bm25 import LexicalIndex
from bot.corpus.passages import split_corpus, split_sentences
from bot.corpus.reading import read_corpus
from bot.corpus.variants import Expander, load_table, prepare
from bot.text import chinese
from bot.text.words import tokenize

from ..conftest import SMALL_DOC
from ..fakes import FakeEncoder

REPO = Path(__file__).resolve().parents[2]
ZH_HANT = REPO.parent / "shared" / "extra-corpus" / "hk-chongqing-plenary-summary-zh-hant.md"

# Our own texts: one in Simplified, one in Traditional, on topics the English texts share.
ZH_HANS_DOC = """---
title: 沪港合作测试稿
date: 2024-04-10
source: 测试用简体中文稿
---
上海市长龚正率领代表团访问香港，出席沪港合作会议。双方同意加强金融合作，支持上海企业赴港上市！
香港大学与上海的大学签署了学生交流协议；双方还将合办青年实习计划。“交流是合作的基础。”龚正说。
"""
ZH_HANT_DOC = """---
title: 港渝青年交流測試稿
date: 2024-07-01
source: 測試用繁體中文稿
---
港渝兩地青年交流團參觀了金鳳實驗室，了解海扶刀的研發。交流團成員在重慶大學與當地學生座談？是的。
"""
LONG_ZH = "雙方同意在物流、旅遊和教育三方面深化合作，並定期舉行工作會議。" * 30


@pytest.fixture(scope="module")
def zh_corpus(tmp_path_factory) -> Path:
    if not ZH_HANT.exists():
        pytest.skip("../shared/extra-corpus is not here")
    folder = tmp_path_factory.mktemp("zh-corpus")
    shutil.copy(ZH_HANT, folder / ZH_HANT.name)
    (folder / "zh-hans-test.md").write_text(ZH_HANS_DOC, encoding="utf-8")
    (folder / "zh-hant-test.md").write_text(ZH_HANT_DOC, encoding="utf-8")
    (folder / "small-doc.md").write_text(SMALL_DOC, encoding="utf-8")
    shutil.copy(REPO / "corpus" / "variants.yaml", folder / "variants.yaml")
    return folder


@pytest.fixture(scope="module")
def passages(zh_corpus):
    docs, _ = read_corpus(zh_corpus)
    return split_corpus(docs)


@pytest.fixture(scope="module")
def bot(zh_corpus, tmp_path_factory) -> Bot:
    index = tmp_path_factory.mktemp("zh-index")
    encoder = FakeEncoder()
    build_index(zh_corpus, index, encoder)
    return Bot.open(index, encoder)


def _doc(passages, doc_id):
    return [p for p in passages if p.doc_id == doc_id]


# Sentences and passages

def test_a_chinese_document_is_split_into_sentences_on_chinese_full_stops(passages):
    plenary = _doc(passages, "hk-chongqing-plenary-summary-zh-hant")
    first = plenary[0].sentence_texts()
    assert first[0].startswith("2023年5月11日") and first[0].endswith("全體會議。")
    assert first[1] == "國務院港澳事務辦公室副主任王靈桂亦有出席。"
    assert all(s.endswith("。") for p in plenary for s in p.sentence_texts())


def test_exclamation_question_semicolon_and_closing_quotes_end_sentences():
    assert split_sentences("支持上海企业赴港上市！双方签署协议；“交流是合作的基础。”龚正说。对吗？是的") == \
        ["支持上海企业赴港上市！", "双方签署协议；", "“交流是合作的基础。”", "龚正说。", "对吗？", "是的"]


def test_a_chinese_sentence_without_full_stops_is_bounded():
    run = "双方同意加强合作，" * 200 + "无" * 1000 + "。"
    parts = split_sentences(run)
    assert max(map(len, parts)) <= chinese.LONG_SENTENCE
    assert "".join(parts) == run


def test_chinese_passages_are_sized_by_characters(tmp_path):
    (tmp_path / "long.md").write_text(f"---\ntitle: 長文\n---\n{LONG_ZH}\n", encoding="utf-8")
    docs, _ = read_corpus(tmp_path)
    long = split_corpus(docs)
    assert len(long) >= 3   # 900 characters without a space: one "word" to a whitespace count
    assert all(len(p.text) <= 260 for p in long)
    assert "".join(p.text.replace(" ", "") for p in long) == LONG_ZH


# BM25 over Chinese words, either script

@pytest.mark.parametrize("question", ["重庆仲裁委员会与香港仲裁机构合办什么？",   # Simplified
                                      "重慶仲裁委員會與香港仲裁機構合辦甚麼？"])  # Traditional
def test_a_chinese_question_in_either_script_finds_the_chinese_passage_by_bm25(passages, question):
    lexical = LexicalIndex.build([p.text for p in passages])
    rows, _ = lexical.search(question, k=3)
    assert len(rows) and "仲裁高峰論壇" in passages[rows[0]].text


def test_traditional_and_simplified_texts_give_the_same_words():
    assert tokenize(["金鳳實驗室的研發方向"]) == tokenize(["金凤实验室的研发方向"])
    assert "实验室" in tokenize(["金鳳實驗室"])[0]


def test_english_words_are_tokenised_as_before():
    assert tokenize(["Hong Kong's organised programmes"]) == [["hong", "kong", "organiz", "program"]]


# Name variants

@pytest.fixture(scope="module")
def expander(passages):
    english, _ = read_corpus(REPO / "corpus")
    return Expander(prepare(load_table(REPO / "corpus" / "variants.yaml"),
                            split_corpus(english) + passages))


@pytest.mark.parametrize("question", ["李家超在重庆说了什么？", "李家超在重慶說了什麼？"])
def test_a_chinese_question_expands_to_the_english_forms_of_its_names(expander, question):
    query, groups = expander.expand(question)
    assert "John Lee" in query and "Chongqing" in query
    assert len(groups) == 2


def test_a_mixed_question_expands_names_touching_chinese_characters(expander):
    query, _ = expander.expand("John Lee在重庆说了什么")
    assert "李家超" in query and "Chongqing" in query


def test_chinese_names_are_found_inside_unsegmented_chinese_passages(expander):
    group = next(g for g in expander.groups if "陈国基" in g["names"])
    assert "陳國基" in group["in_corpus"] and "陈国基" in group["in_corpus"]


def test_an_english_question_finds_a_chinese_passage_through_variants(bot):
    reply = bot.ask("Which officials did Algernon Yau accompany?", always_cite=True)
    assert "丘應樺" in reply["query"] or "丘应桦" in reply["query"]
    assert any(c["doc_id"] == "hk-chongqing-plenary-summary-zh-hant" and "丘應樺" in c["text"]
               for c in reply["citations"])


def test_an_english_question_naming_john_lee_finds_the_chinese_passage_first_by_bm25(bot):
    _, query, _ = bot.understand("Which delegation did John Lee lead?")
    rows, _ = bot.index.lexical.search(query, k=3)
    assert len(rows) and "李家超" in bot.index.passages[rows[0]].text


def test_the_names_check_finds_a_chinese_name_through_its_group(bot):
    for question in ["陳國基簽署了什麼？", "Chan Kwok-ki 签署了什么？"]:
        standalone, _, groups = bot.understand(question)
        hits = bot.evidence_for(question)[1]
        assert evidence(bot.index, hits, standalone, groups).names_missing == 0.0
    # A known Chinese name in none of the passages found is missing.
    hits = bot.evidence_for("習近平簽署了什麼？")[1]
    assert evidence(bot.index, hits, "習近平簽署了什麼？", []).names_missing == 1.0


def test_a_name_asked_in_chinese_weighs_as_its_english_form_in_the_passages(bot):
    ev, hits = bot.evidence_for("港交所是什么？")
    assert "HKEX" in bot.index.passages[hits[0].idx].text
    english, _ = bot.evidence_for("What is HKEX?")
    assert ev.coverage > 0.3 and english.coverage > 0.3


# Follow-ups

@pytest.mark.parametrize("question,history,must,must_not", [
    ("他还去了哪些大学？", ["李家超在重庆访问了什么？"], ["李家超", "重庆"], ["访问"]),
    ("那金融方面呢？", ["香港和重庆在青年发展方面达成了什么共识？"], ["香港", "重庆"], ["青年"]),
    ("那青年發展方面呢？", ["李家超和袁家軍在重慶簽署了甚麼？"], ["李家超", "袁家"], ["签署", "簽署"]),
    ("他说了什么？", ["Where did Gong Zheng attend the conference?"], ["Gong Zheng"], []),
])
def test_chinese_follow_ups_carry_the_earlier_subject(expander, question, history, must, must_not):
    query = resolve(question, history)
    assert query.startswith(question)
    carried = query[len(question):]
    assert all(m in carried for m in must) and not any(m in carried for m in must_not)


def test_a_standalone_chinese_question_is_left_alone(expander):
    assert resolve("金凤实验室主要研究什么方向？", ["李家超在重庆访问了什么？"]) == "金凤实验室主要研究什么方向？"


# Refusals

@pytest.mark.parametrize("question,expected", [
    ("火星上的天气怎么样？", chinese.NO_ANSWER["zh-hans"]),
    ("火星上的天氣怎麼樣？", chinese.NO_ANSWER["zh-hant"]),
    ("What is the weather like on Mars?", NO_ANSWER),
])
def test_a_question_the_texts_do_not_answer_is_refused_in_its_language(bot, question, expected):
    reply = bot.ask(question)
    assert reply["answered"] is False and reply["answer"] == expected


def test_language_detection():
    assert chinese.is_chinese("John Lee 在重庆说了什么") and not chinese.is_chinese("What did 李家超 say?")
    assert chinese.is_traditional("香港是重慶的第幾大貿易夥伴？")
    assert not chinese.is_traditional("香港是重庆的第几大贸易伙伴？")


# Cost

def test_the_segmenter_writes_no_cache_file_and_questions_are_cheap(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    chinese._tokenizer.cache_clear()
    chinese.words.cache_clear()
    chinese.warm_up()
    assert list(tmp_path.iterdir()) == []
    started = time.perf_counter()
    for i in range(200):
        chinese.segment(f"第{i}个问题：李家超在重庆说了什么？双方在调解机构方面达成了什么共识？")
    assert (time.perf_counter() - started) / 200 < 0.005   # ~0.2 ms measured; bound for slow CI


# Chinese questions over English texts: BM25 sees only their names, the dense ranking the rest

@pytest.fixture
def english_bot(index_dir, fake_encoder) -> Bot:
    return Bot.open(index_dir, fake_encoder)


def test_bm25_counts_by_the_share_of_the_question_words_the_texts_hold(english_bot):
    from bot.qa.retrieval import lexical_reach
    index = english_bot.index
    assert lexical_reach(index, "Which internships for Hong Kong youths?") == 1.0
    assert lexical_reach(index, "香港青年有哪些实习机会？") == 0.0
    assert 0.0 < lexical_reach(index, "HKEX 和重庆合作什么？") < 1.0


def test_a_chinese_question_is_ranked_by_its_meaning_not_by_its_names_alone(english_bot):
    index = english_bot.index
    finance = next(i for i, p in enumerate(index.passages) if "HKEX" in p.text)
    youth = next(i for i, p in enumerate(index.passages) if "internships" in p.text)
    # The dense ranking (standing in for e5, which reads Chinese) points at the youth passage;
    # the only word BM25 can match is the name added by the variants table, in the other one.
    vector = english_bot.encoder.encode([index.passages[youth].text])[0]
    question = "港交所支持香港青年实习吗？"
    hits = english_bot.retriever.search(question, vector, k=2, lexical_query=f"{question} (HKEX)",
                                        words=question)
    assert hits[0].idx == youth and finance != youth


def test_a_chinese_question_over_english_texts_is_judged_as_one(english_bot):
    # Its words cannot be found in English passages whatever it asks: the fit weighs such a
    # question apart (cross_language), so its missing words do not refuse it on their own.
    ev, hits = english_bot.evidence_for("香港青年有哪些实习机会？")
    assert hits and ev.cross_language == 1.0
    english, _ = english_bot.evidence_for("What internships do Hong Kong youths get?")
    assert english.cross_language == 0.0


def test_a_place_named_by_one_character_beside_hong_kong_is_read_in_full():
    assert chinese.abbreviated_places("港瓊綠色金融備忘錄涵蓋哪些範疇？") == {"港琼": ["香港", "海南"]}
    assert chinese.abbreviated_places("川港签署了什么？") == {"川港": ["香港", "四川"]}
    # 港青 is Hong Kong's youth and 港澳办 an office, not Qinghai or Macao; 香港 is itself.
    assert chinese.abbreviated_places("港青就业和港澳办") == {}
    assert chinese.abbreviated_places("香港与海南") == {}


def test_a_pair_is_spelt_out_only_where_the_texts_do_not_write_it():
    assert chinese.spell_out_pairs("港瓊合作涵蓋哪些範疇？", lambda pair: False) == \
        "港瓊合作涵蓋哪些範疇？（香港、海南）"
    assert chinese.spell_out_pairs("深港合作", lambda pair: pair == "深港") == "深港合作"
    assert chinese.spell_out_pairs("How do Hong Kong and Hainan cooperate?", lambda p: False) == \
        "How do Hong Kong and Hainan cooperate?"
