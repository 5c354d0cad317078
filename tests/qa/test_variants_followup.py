"""Name variants (table, derived pairs, expansion) and follow-up resolution."""
from pathlib import Path

import pytest

from bot.errors import DocumentError
from bot.qa.followup import resolve
from bot.corpus.passages import split_corpus
from bot.corpus.reading import read_corpus
from bot.corpus.variants import Expander, derive_from_texts, load_table, prepare

REPO_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def passages():
    docs, _ = read_corpus(REPO_CORPUS)
    return split_corpus(docs)


def test_office_holders_named_differently_by_two_reports_are_paired(passages):
    pairs = {frozenset(g["names"]) for g in derive_from_texts(passages)}
    assert frozenset({"Chan Kwok-kei", "Chan Kwok-ki"}) in pairs
    assert frozenset({"Algernon Yau", "Yau Ying-wah"}) in pairs
    assert frozenset({"Clement Woo", "Hu Jianming"}) in pairs  # "Deputy" and "Under" Secretary


@pytest.fixture(scope="module")
def expander(passages):
    return Expander(prepare(load_table(REPO_CORPUS / "variants.yaml"), passages))


@pytest.mark.parametrize("question,expected", [
    ("Who is Lee Ka-chiu?", ["Li Jiachao", "John Lee"]),
    ("What did Paul Chan attend?", ["Chen Maobo"]),
    ("What does the Jinfeng Lab study?", ["Golden Phoenix Laboratory"]),
    ("What did Hong Kong Exchanges and Clearing agree?", ["HKEX"]),
])
def test_any_name_form_brings_the_forms_the_texts_use(expander, question, expected):
    query, groups = expander.expand(question)
    assert groups and all(name in query for name in expected)


def test_alternatives_follow_the_whole_name_not_a_part_of_it(expander):
    query, _ = expander.expand("What did Chief Executive Lee Ka-chiu say?")
    assert query.startswith("What did Chief Executive Lee Ka-chiu (")
    assert query.endswith(") say?")


def test_names_found_in_most_passages_are_not_expanded(expander):
    assert expander.expand("What is the weather in Chongqing tomorrow?")[0] == \
        "What is the weather in Chongqing tomorrow?"


def test_users_can_add_variants_and_bad_tables_are_reported(tmp_path):
    (tmp_path / "variants.yaml").write_text("- type: person\n  names: [Jane Doe, Doe Jane]\n")
    assert load_table(tmp_path / "variants.yaml")[0]["names"] == ["Jane Doe", "Doe Jane"]
    (tmp_path / "variants.yaml").write_text("- type: organization\n  names: [World Bank, WB]\n")
    assert load_table(tmp_path / "variants.yaml")[0]["type"] == "organisation"
    (tmp_path / "variants.yaml").write_text("- names: 5\n")
    with pytest.raises(DocumentError, match="group 1 needs 'names'"):
        load_table(tmp_path / "variants.yaml")
    (tmp_path / "variants.yaml").write_text("- type: company\n  names: [Acme]\n")
    with pytest.raises(DocumentError, match="group 1 has type 'company'"):
        load_table(tmp_path / "variants.yaml")


@pytest.mark.parametrize("question,history,must", [
    ("What did he say there?", ["Where did Gong Zheng attend the Shanghai Global Promotion Conference?"],
     ["Gong Zheng", "Shanghai Global Promotion Conference"]),
    ("And what about youth development?", ["What was agreed on talent exchange between Hong Kong and Chongqing?"],
     ["youth development", "Hong Kong and Chongqing"]),
    ("Who else attended?", ["Who presided over the Chongqing-Hong Kong High-Level Meeting?"],
     ["Chongqing-Hong Kong High-Level Meeting"]),
])
def test_follow_ups_become_standalone(question, history, must):
    query = resolve(question, history)
    assert all(m in query for m in must)


def test_the_carried_context_drops_the_old_topic_verbs():
    query = resolve("What did he say there?", ["Where did Gong Zheng attend the conference?"])
    assert "attend" not in query


def test_a_standalone_question_is_left_alone():
    q = "What is Hong Kong's rank among Chongqing's trading partners?"
    assert resolve(q, ["Who is John Lee?"]) == q


def _passages_of(tmp_path: Path, text: str):
    (tmp_path / "deal.md").write_text(f"---\ntitle: Trade deal\ndate: 2023-05-31\n---\n{text}\n",
                                      encoding="utf-8")
    docs, _ = read_corpus(tmp_path)
    return split_corpus(docs)


def test_common_names_reach_texts_that_write_them_another_way(tmp_path):
    """A reader says "Britain" of texts that say "the United Kingdom": the packaged table of
    common names adds the form, so the question finds them and is not refused as naming a
    place they never mention."""
    passages = _passages_of(tmp_path, "The United Kingdom and Australia signed the deal in London.")
    groups = prepare([], passages)
    query, matched = Expander(groups).expand("When did Britain sign the deal?")
    assert matched and "United Kingdom" in query


def test_a_common_name_the_texts_never_use_stays_unknown(tmp_path):
    # "The United States" is in no form in these texts: no group for it, so a question about
    # it stays a question about a place they never mention.
    passages = _passages_of(tmp_path, "The United Kingdom and Australia signed the deal in London.")
    names = {n for g in prepare([], passages) for n in g["names"]}
    assert "United Kingdom" in names and "United States" not in names and "USA" not in names


def test_the_corpus_table_decides_the_names_it_lists(tmp_path):
    passages = _passages_of(tmp_path, "Hong Kong and Australia signed the deal.")
    table = [{"type": "place", "names": ["Hong Kong", "Heung Kong"], "note": "", "origin": "table"}]
    hk = [g for g in prepare(table, passages) if "Hong Kong" in g["names"]]
    assert len(hk) == 1 and hk[0]["names"] == ["Hong Kong", "Heung Kong"]


def test_names_are_found_as_words_overlapping_ones_too_and_chinese_may_touch():
    from bot.corpus.variants import passages_with_names
    texts = ["hong kong special administrative region", "hongkonger and kong", "在香港签署",
             "shanghai-hong kong link", "the uk's deal", "ukraine"]
    found = passages_with_names({"hong kong", "hong kong special administrative region",
                                 "香港", "uk", "kong"}, texts)
    assert found["hong kong"] == [0, 3]                  # inside the longer name; after a hyphen
    assert found["hong kong special administrative region"] == [0]
    assert found["香港"] == [2]                            # Chinese written without spaces
    assert found["uk"] == [4] and found["kong"] == [0, 1, 3]   # not inside "ukraine"
    assert passages_with_names(set(), texts) == {}


def test_finding_names_is_one_pass_per_passage_not_one_per_name(tmp_path):
    """20,000 passages and a few hundred names: a regex per name and passage took ~44 s."""
    import time
    from bot.corpus.passages import Passage
    passages = [Passage(f"d#{i}", "d", "T", "S", "2023-01-01", "",
                        f"The United Kingdom and Hong Kong met in London, meeting {i}.")
                for i in range(20_000)]
    started = time.perf_counter()
    groups = prepare(load_table(REPO_CORPUS / "variants.yaml"), passages)
    assert time.perf_counter() - started < 5.0
    uk = next(g for g in groups if "United Kingdom" in g["names"])
    assert uk["in_corpus"]["United Kingdom"]["passages"] == 20_000


def test_a_follow_up_that_only_names_another_thing_asks_the_earlier_question_again():
    from bot.qa.followup import swaps_entity
    assert swaps_entity("And for Malaysia?") and swaps_entity("What about the EU?")
    assert not swaps_entity("And what about youth development?")
    resolved = resolve("And for Chongqing?", ["Who signed the agreement for Hong Kong?"])
    assert "signed" in resolved and "agreement" in resolved and "Hong Kong" in resolved
    # A new topic keeps only the subject.
    topic = resolve("And what about youth development?", ["What did Hong Kong agree on finance?"])
    assert "Hong Kong" in topic and "finance" not in topic


def test_an_idiom_brings_the_words_the_texts_use_and_one_stem_brings_nothing():
    """Common terms of agreements ("put pen to paper", "kick off", "come into force") are
    searched in the words the texts use; "signed" is not padded with "sign" and "signing"."""
    from bot.corpus.passages import Passage
    from bot.corpus.variants import load_common

    texts = ["The pilot scheme will start in January 2025.", "The deal was signed in Macao.",
             "The arrangement will take effect on 1 September 2025.", "The signing was in May."]
    texts += [f"Trade grew by {n} per cent." for n in range(12)]   # the names are rare
    passages = [Passage(id=f"d#{i}", doc_id="d", title="T", source="S", date="2025-01-01",
                        section="", text=t, sentences=[(0, len(t))]) for i, t in enumerate(texts)]
    expander = Expander(prepare(load_common(), passages))
    assert "(start" in expander.expand("When does the pilot kick off?")[0]
    assert "signed" in expander.expand("Who put pen to paper for Macao?")[0]
    assert "take effect" in expander.expand("When does it come into force?")[0]
    assert "take effect" in expander.expand("安排甚麼時候生效？")[0]
    assert expander.expand("Who signed the deal?")[0] == "Who signed the deal?"
    # A phrase is no name: the names check does not look for 签署 in the answer.
    from bot.text import chinese
    assert chinese.names_in("谁簽署了协议？") == []
