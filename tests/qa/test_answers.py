"""Sentence choice by asked type, lists, clipping, honest citations and each abstention feature."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.qa import abstention as answerability, asked
from bot.qa.compose import _clip, compose, rank_candidates, term_weights
from bot.index.build import build_index
from bot.qa.engine import Bot
from bot.qa.evaluation import citation_problems
from bot.text.words import fold_key

from ..fakes import FakeEncoder

DOC = """---
title: "Two cities sign a cooperation plan"
date: 2023-05-11
source: "Test wire"
---
# Visit

The mayor's trip to the river city drew wide attention from the press. On May 10, the mayor led a delegation to start a three-day trip to the river city. The river city is known for its bridges.

The two cities reached consensus on the following 3 cooperation areas:

# Finance

Encourage banks of both cities to open branches in the other.

# Logistics

Build a freight corridor between the two ports.

# Tourism

Promote tourism between the two cities with joint campaigns.

# Signing ceremony

The mayors signed the plan at the city hall.
"""


def _bot_over(tmp_path: Path, docs: dict[str, str]) -> Bot:
    """A bot (fake encoder) over a corpus of these documents, by file name."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    encoder = FakeEncoder()
    build_index(corpus, tmp_path / "index", encoder)
    return Bot.open(tmp_path / "index", encoder)


def _doc(title: str, date: str, body: str) -> str:
    return f"---\ntitle: {title}\ndate: {date}\nsource: Test wire\n---\n{body}"


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    return _bot_over(tmp_path, {"plan.md": DOC})


def _pool(bot: Bot, question: str):
    _, query, _ = bot.understand(question)
    vector, hits = bot._search(question, query, question, 5)
    return rank_candidates(bot.index, hits, vector, term_weights(bot.index.lexical, query),
                           question=question), hits, vector


def _compose(bot: Bot, question: str, k: int = 5) -> dict:
    """The answer the bot would give, whatever abstention says (the fake encoder's scores
    are not the calibrated model's)."""
    _, query, _ = bot.understand(question)
    vector, hits = bot._search(question, query, question, k)
    answer, citations, related = compose(bot.index, hits, vector, query, question)
    return {"answered": True, "answer": answer, "citations": citations, "related": related}


# --- what is asked ---------------------------------------------------------------------------

@pytest.mark.parametrize("question,kind", [
    ("When did the mayor visit the river city?", "date"),
    ("How many cooperation areas were agreed?", "quantity"),
    ("How much money flowed through trade in 2022?", "quantity"),
    ("Who led the delegation?", "person"),
    ("Where was the plan signed?", "place"),
    ("Which ports will the corridor link?", "thing"),
    ("Did the cities sign a free trade agreement?", "yesno"),
    ("Why was the trip cancelled?", None),
])
def test_the_asked_type_is_read_from_the_question(question, kind):
    assert asked.asked_type(question) == kind


def test_a_when_question_gets_the_sentence_with_the_date_not_the_one_that_repeats_its_words(bot):
    pool, _, _ = _pool(bot, "When did the mayor start the trip to the river city?")
    assert "May 10" in pool[0].text


def test_how_many_counts_the_thing_asked_about():
    assert asked.gives("quantity", "The two cities signed 3 agreements.", "How many agreements?")
    assert not asked.gives("quantity", "The trip took 3 days.", "How many agreements were signed?")


# --- complete answers ------------------------------------------------------------------------

def test_a_sentence_introducing_a_list_brings_its_items(bot):
    reply = _compose(bot, "What are the 3 cooperation areas the two cities agreed?")
    answer = reply["answer"]
    assert "following 3 cooperation areas:" in answer
    for item in ("Finance", "Logistics", "Tourism"):
        assert item in answer
    assert len(answer) <= 600


def test_clipping_keeps_the_clause_that_answers_where():
    sentence = ("During his stay in Hong Kong, the mayor attended " +
                ", ".join(f"the {n} forum of the series" for n in range(1, 30)) + ".")
    weights = {"mayor": 1.0, "attend": 1.0, "forum": 0.5}
    clipped = _clip(sentence, weights, limit=200, question="Where did the mayor attend the forum?")
    assert clipped.startswith("During his stay in Hong Kong")
    assert len(clipped) <= 205


# --- honest sources --------------------------------------------------------------------------

def test_citations_are_only_what_the_answer_cites_and_start_at_one(bot):
    reply = _compose(bot, "When did the mayor start the trip to the river city?")
    marks = [int(m) for m in re.findall(r"\[(\d+)\]", reply["answer"])]
    assert marks and marks[0] == 1
    assert [c["n"] for c in reply["citations"]] == list(dict.fromkeys(marks))
    assert all(not r["highlights"] for r in reply["related"])
    assert citation_problems(reply) == []


def test_citation_problems_catches_an_uncited_citation_and_a_late_first_marker():
    bad = {"answered": True, "answer": "Text. [2]", "related": [],
           "citations": [{"n": 1, "highlights": []}, {"n": 2, "highlights": []}]}
    assert citation_problems(bad)


def test_a_refusal_on_topic_says_what_the_texts_say_and_offers_related(bot, monkeypatch):
    monkeypatch.setitem(bot.model, "threshold", 1.1)   # refuse everything
    reply = bot.ask("When did the mayor start the trip to the river city?")
    assert reply["answered"] is False and reply["citations"] == []
    assert reply["answer"].startswith("The texts do not answer")
    assert "They say:" in reply["answer"] and reply["related"]


# --- abstention features ---------------------------------------------------------------------

def test_name_detector_skips_sentence_initial_words_and_common_nouns():
    assert asked.names("Name an agreement signed in Tokyo.") == ["Tokyo"]
    assert asked.names("Savannah is a city?") == []
    assert asked.names("What was agreed about Finance?", {"finance"}) == []
    assert asked.names("When did John Lee visit Chongqing?") == ["John Lee", "Chongqing"]


def test_a_changed_year_is_a_missing_specific():
    text = "On May 10, the mayor led a delegation to the river city."
    assert answerability.specifics("When did the mayor visit in 2021?", text, "2023-05-11") == 1.0
    assert answerability.specifics("When did the mayor visit in 2023?", text, "2023-05-11") == 0.0
    assert answerability.specifics("Were 5 agreements signed?", "3 agreements were signed.", "") == 1.0


def test_a_changed_full_date_is_a_missing_specific_though_its_year_is_elsewhere():
    # The passage names 2021 (another date) and 1 January (of 2022): neither answers "on 1
    # January 2021". Written three ways, the same date agrees.
    text = ("The agreement entered into force on 1 January 2022. Korea ratified it on "
            "2 December 2021.")
    assert answerability.specifics("Which countries joined on 1 January 2021?", text, "") == 1.0
    assert answerability.specifics("Which countries joined on January 1, 2022?", text, "") == 0.0
    assert answerability.specifics("2022年1月1日有哪些國家加入？", text, "") == 0.0
    # A dateline's "today": the document's own date.
    assert answerability.specifics("What happened on 1 January 2022?",
                                   "On 1 January the agreement entered into force.", "2022-01-01") == 0.0


def test_a_changed_ordinal_is_a_missing_specific():
    text = "As early as 2016, the hospital introduced the device for the first time."
    assert answerability.specifics("When was it introduced for the third time?", text, "") == 1.0
    assert answerability.specifics("When was it introduced for the first time?", text, "") == 0.0
    assert answerability.specifics("Who will chair the 3rd plenary?", "The 2nd plenary met.", "") == 1.0
    # "First" says "earliest" as often as it numbers: the founding members are the first.
    founding = "The eight founding members signed the accords on 13 October 2020."
    assert answerability.specifics("When did the first countries sign the accords?", founding, "") == 0.0


def test_the_readers_today_is_a_specific_a_dated_text_lacks():
    text = "On May 10, the mayor led a delegation to the river city."
    for question in ("What is the weather in the river city today?", "今天重慶的天氣如何？",
                     "How fast will the economy grow next year?", "明年香港經濟會增長多少？"):
        assert answerability.specifics(question, text, "2023-05-11") == 1.0, question
    said = "The mayor said the bridge would open next year."
    assert answerability.specifics("What will open next year?", said, "2023-05-11") == 0.0


def test_a_cost_is_answered_by_money_not_by_any_number():
    assert not asked.gives("quantity", "The JC300 is the latest model of the knife.",
                           "How much did the knife cost?")
    assert not asked.gives("quantity", "More than 11 million patients have been treated.",
                           "How much does a treatment cost?")
    assert asked.gives("quantity", "The bridge cost HK$1.2 billion.", "How much did the bridge cost?")
    assert asked.gives("quantity", "Trade reached 56.11 billion yuan.", "How much did trade cost?")
    # A share of the money is a percentage, not an amount.
    assert asked.gives("quantity", "Hong Kong's share was 60%.",
                       "What share of the investment spending came from Hong Kong?")


def test_an_added_negation_is_a_mismatch(bot):
    ev, _ = bot.evidence_for("Which cooperation areas did the two cities not agree?")
    assert ev.negation_mismatch == 1.0
    ev, _ = bot.evidence_for("Which cooperation areas did the two cities agree?")
    assert ev.negation_mismatch == 0.0
    # "excluded" negates as "not included" does.
    assert bot.evidence_for("Which areas are excluded from the plan?")[0].negation_mismatch == 1.0


def test_an_asked_date_the_answer_lacks_refuses(bot):
    ev, _ = bot.evidence_for("When did the mayor start the trip to the river city?")
    assert ev.value_missing == 0.0
    ev, _ = bot.evidence_for("How many bridges does the river city have?")
    assert ev.value_missing == 1.0
    model = {"intercept": 5.0, "weights": [0.0] * len(answerability.FEATURES), "threshold": 0.5}
    assert answerability.probability(ev, model) < 0.5
    ev.value_missing = 0.0
    assert answerability.probability(ev, model) > 0.5


def test_margin_is_the_lead_over_another_passage(bot):
    ev, _ = bot.evidence_for("When did the mayor start the trip to the river city?")
    assert ev.margin >= 0.0


def test_the_threshold_comes_from_out_of_fold_probabilities():
    rows = [(answerability.Evidence(0.9, 0.9, 0.9, 0.0, 0.0, 0.0), True) for _ in range(20)]
    rows += [(answerability.Evidence(0.5, 0.5, 0.2, 0.5, 0.5, 1.0), False) for _ in range(10)]
    fitted = answerability.fit(rows)
    assert fitted["cv"]["false_abstain"] <= 0.05 and fitted["cv"]["abstain_ok"] == 1.0
    assert 0.0 < fitted["threshold"] < 1.0


def test_a_list_stops_at_the_number_of_items_its_sentence_states(bot):
    reply = _compose(bot, "What are the 3 cooperation areas the two cities agreed?")
    assert reply["answer"].count(";") == 2   # Finance; Logistics; Tourism, and nothing after


def test_accord_ask_prints_sources_then_related_apart(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot import cli

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.md").write_text(DOC, encoding="utf-8")
    encoder = FakeEncoder()
    build_index(corpus, tmp_path / "index", encoder)
    monkeypatch.setattr(cli, "_encoder", lambda model, threads=None: encoder)
    from bot.qa import engine
    monkeypatch.setattr(engine, "load_model", lambda *path: {"weights": [], "intercept": 5.0,
                                                       "threshold": 0.5})
    out = CliRunner().invoke(cli.cli, ["ask", "When did the mayor start the trip to the river city?",
                                       "--index", str(tmp_path / "index")]).output
    assert "[1]" in out and "Sources:" in out and "Related passages:" in out
    assert out.index("Sources:") < out.index("Related passages:")


# --- a follow-up that changes the topic keeps its subject -------------------------------------

def test_a_topic_changing_follow_up_keeps_the_earlier_subject():
    from bot.qa.engine import subject
    from bot.qa.followup import resolve

    history = ["What was agreed on talent exchange between Hong Kong and Chongqing?"]
    question = "And what about youth development?"
    assert {"Hong Kong", "Chongqing"} <= set(subject(question, resolve(question, history)))
    # A pronoun follow-up asks about the same thing: its passage may say "the laboratory".
    question = "What does it focus on?"
    assert subject(question, resolve(question, ["Which laboratory did John Lee visit?"])) == []
    assert subject("Who led the delegation?", "Who led the delegation?") == []


def test_a_passage_without_the_subject_loses_the_subject_weight(bot):
    from bot.qa.compose import SUBJECT_WEIGHT

    question = "What did the two cities agree?"
    _, query, _ = bot.understand(question)
    vector, hits = bot._search(question, query, question, 5)
    weights = term_weights(bot.index.lexical, query)
    plain = rank_candidates(bot.index, hits, vector, weights, question=question)
    lacking = rank_candidates(bot.index, hits, vector, weights, question=question,
                              subject_miss=[1.0] + [0.0] * (len(hits) - 1))
    before = {(c.hit_rank, c.position): c.score for c in plain}
    for c in lacking:
        drop = SUBJECT_WEIGHT if c.hit_rank == 0 else 0.0
        assert c.score == pytest.approx(before[(c.hit_rank, c.position)] - drop)


def test_a_question_that_is_not_a_follow_up_prefers_passages_with_its_own_names(tmp_path):
    """ "What does the Harbour Accord need?" over two reports that say the same of two
    accords: the sentence of the report that names the Harbour Accord comes first, and the
    other report's loses OWN_NAMES_SHARE of SUBJECT_WEIGHT (a follow-up's carried names cost
    the whole weight)."""
    from bot.qa.compose import SUBJECT_WEIGHT, choose
    from bot.qa.engine import OWN_NAMES_SHARE, own_names

    bot = _bot_over(tmp_path, {
        f"{name}.md": _doc(f"{accord} report", f"2024-01-0{len(name) % 9}",
                           f"The {accord} still needs the approval of both parliaments before it "
                           "can enter into force.\n")
        for name, accord in (("harbour", "Harbour Accord"), ("river", "Valley Pact"))})
    question = "What does the Harbour Accord need before it enters into force?"
    assert own_names(question) == ["Harbour Accord"]
    standalone, query, groups, vector, hits, pool = bot._retrieve(question, [], 5)
    assert pool[0].text.startswith("The Harbour Accord")
    plain = {c.text: c.score for c in choose(bot.index, hits, vector, query, question)}
    for c in pool:
        drop = 0.0 if "Harbour" in c.text else OWN_NAMES_SHARE * SUBJECT_WEIGHT
        assert c.score == pytest.approx(plain[c.text] - drop)


def test_a_measure_asked_by_name_is_a_quantity_of_that_measure():
    assert asked.asked_type("What is the population of the river city?") == "quantity"
    assert asked.asked_type("What was the budget of the plan?") == "quantity"
    assert asked.asked_type("What is the aim of the plan?") is None
    # A number of something else does not give the population; the population does.
    assert not asked.gives("quantity", "The river city has 12 bridges.",
                           "What is the population of the river city?")
    assert asked.gives("quantity", "The river city has a population of 32 million.",
                       "What is the population of the river city?")
    # The budget is an amount of money.
    assert not asked.gives("quantity", "The plan has 3 parts.", "What was the budget of the plan?")
    assert asked.gives("quantity", "The plan's budget is 5 million yuan.",
                       "What was the budget of the plan?")


def test_a_name_the_texts_know_but_not_the_answers_document_contradicts(tmp_path: Path):
    index = _bot_over(tmp_path, {
        "river.md": DOC,
        "harbour.md": _doc("Harbour city week", "2024-04-28",
                           "The harbour city held a food festival with the capital.\n")}).index
    river = next(i for i in range(len(index.passages)) if index.passages[i].doc_id == "river")
    outside = answerability._outside_document
    assert outside(index, river, ["Harbour"], []) == 1.0     # said only in the other document
    assert outside(index, river, ["Finance"], []) == 0.0     # in the answer's own document
    assert outside(index, river, ["Atlantis"], []) == 0.0    # the texts never say it: not this rule
    assert outside(index, river, ["Harbour", "Finance"], []) == 0.5
    # The bound: a word in more passages than max_rows is taken as held by all of them.
    assert index.lexical.passages_with("harbour festival", max_rows=0) is not None
    assert index.lexical.passages_with("atlantis") is None


def test_the_asked_type_of_a_chinese_question():
    assert asked.asked_type("李家超哪天开始访问重庆？") == "date"
    assert asked.asked_type("捷運系統預計何時投入服務？") == "date"
    assert asked.asked_type("2023年5月带领香港代表团访问重庆的是谁？") == "person"
    assert asked.asked_type("重庆和香港签了几份协议？") == "quantity"
    assert asked.asked_type("龚正去过西九文化区吗？") == "yesno"
    assert asked.asked_type("港渝两地在金融方面同意做什么？") is None
    # A Chinese sentence's date: the digits touch 年/月/日, with no word boundary.
    assert asked.gives("date", "捷运系统预计在2026年底投入服务。", "何时？")
    assert not asked.gives("date", "捷运系统由合资公司营运。", "何时？")
    # A price asked in Chinese is an amount of money, in either language.
    assert not asked.gives("quantity", "The link will carry 10,000 passengers an hour.", "票价是多少？")
    assert asked.gives("quantity", "A ticket costs 5 ringgit.", "票价是多少？")
    assert asked.gives("quantity", "票价为5元。", "票价是多少？")


def test_a_cost_asked_at_the_end_and_so_far_are_read():
    assert asked.asked_type("What will a ticket on the link cost?") == "quantity"
    assert asked.asked_type("What did the bridge cost to build?") == "quantity"
    text = "The agreement enters into force once 55 countries ratify it."
    assert answerability.specifics("How many countries have ratified it so far?", text, "") == 1.0
    assert answerability.specifics("How many countries must ratify it?", text, "") == 0.0


def test_the_lexical_part_of_sentence_choice_is_scaled_by_the_texts_reach(bot):
    question = "What did the two cities agree?"
    _, query, _ = bot.understand(question)
    vector, hits = bot._search(question, query, question, 5)
    weights = term_weights(bot.index.lexical, query)
    full = {(c.hit_rank, c.position): c.score
            for c in rank_candidates(bot.index, hits, vector, weights, question=question)}
    none = {(c.hit_rank, c.position): c.score
            for c in rank_candidates(bot.index, hits, vector, weights, question=question, reach=0.0)}
    # With no reach (a question in another script than the texts), only meaning and type count.
    assert any(full[k] > none[k] for k in full)
    assert all(full[k] >= none[k] for k in full)


def test_a_name_the_texts_never_mention_refuses(bot: Bot):
    """A place the texts never name ("Atlantis") is asked about: whatever passage comes back
    answers about something else. A word made from a word they hold ("Mayoral" from "mayor")
    and an acronym are not judged."""
    ev, _ = bot.evidence_for("What did the river city and Atlantis agree on finance?")
    assert ev.name_unknown == 1.0
    assert answerability.probability(ev, bot.model) < bot.model["threshold"]
    assert not bot.ask("What did the river city and Atlantis agree on finance?")["answered"]
    assert bot.evidence_for("What did the mayors agree on finance?")[0].name_unknown == 0.0
    top = [bot.index.passages[i] for i in range(len(bot.index.passages))]
    unknown = answerability._unknown
    assert unknown(bot.index, "Atlantis", set(), top)
    assert not unknown(bot.index, "Finance", set(), top)       # the texts hold it
    assert not unknown(bot.index, "Mayoral", set(), top)       # made from "mayor"
    assert not unknown(bot.index, "Bridgeans", set(), top)     # made from "bridges"
    assert not unknown(bot.index, "ASEAN", set(), top)         # an acronym: may be spelt out
    assert not unknown(bot.index, "MEPs", set(), top)          # a plural one too
    assert not unknown(bot.index, "Atlantis", {"atlanti"}, top)  # a form the variants table knows


def test_a_place_named_after_something_the_texts_never_mention_refuses(tmp_path):
    """"The Strait of Malacca" over texts that know only the Strait of Johor: "Strait" is
    theirs, "Malacca" is not. A person's given name the texts do not use is no reason ("Paul
    Lam" where they say "Mr Lam")."""
    bot = _bot_over(tmp_path, {"bridge.md": _doc(
        "Bridge opens", "2024-01-02",
        "The bridge across the Strait of Johor is 2 km long. Mr Lam opened the bridge.\n")})
    assert bot.evidence_for("How long is the bridge across the Strait of Malacca?")[0].name_unknown == 1.0
    assert bot.evidence_for("How long is the bridge across the Strait of Johor?")[0].name_unknown == 0.0
    assert bot.evidence_for("Did Paul Lam open the bridge?")[0].name_unknown == 0.0
    assert bot.evidence_for("Did Lam Ting-kwok open the bridge?")[0].name_unknown == 0.0


def test_who_is_answered_by_a_body_as_well_as_a_person():
    question = "Who will run the ferry?"
    assert asked.asked_type(question) == "person"
    assert asked.gives("person", "It will be run by a joint venture of two port companies.", question)
    assert asked.gives("person", "The Harbour Ferry Corporation will run it.", question)
    assert not asked.gives("person", "It will run every ten minutes from 2026.", question)


def test_which_x_asks_for_a_person_or_a_place_when_its_noun_says_so():
    assert asked.asked_type("Which railway training body in the river city will train drivers?") == "body"
    assert asked.asked_type("Which ministers signed the plan?") == "person"
    assert asked.asked_type("Which port city did the mayor visit?") == "place"
    assert asked.asked_type("Which cooperation areas did the cities agree on?") == "thing"
    # What a sentence must name for a plain "which X" stays X's first word.
    assert asked.asked_thing("Which science hub did the mayor tour?") == "scienc"


def test_which_companies_is_answered_by_a_body_not_by_the_people_named_nearby(tmp_path):
    question = "Which companies will run the ferry?"
    assert asked.asked_type(question) == "body"
    assert asked.asked_type("What company will run the ferry?") == "body"
    assert asked.gives("body", "It will be run by a joint venture of two port firms.", question)
    assert asked.gives("body", "Harbour Lines Ltd will run it.", question)
    assert not asked.gives("body", "Mayor Chen and Governor Wu watched the ferry leave.", question)
    bot = _bot_over(tmp_path, {"ferry.md": _doc(
        "Ferry opens", "2024-01-02",
        "Mayor Chen watched the ferry between the ports leave. "
        "The ferry will be run by a joint venture of Harbour Lines and Blue Sea Shipping.\n")})
    assert "joint venture" in _pool(bot, question)[0][0].text


def test_according_to_a_person_asks_what_they_said():
    assert asked.asked_type("According to Mayor Chen, what problem will the bridge solve?") == "speech"
    assert asked.asked_type("According to Mr Wu, what will the plan bring?") == "speech"
    # A text cited says nothing of the kind asked; the rest of the question does.
    assert asked.asked_type("According to the plan, when will the bridge open?") == "date"
    assert asked.asked_type("According to the report, what is planned?") is None
    assert asked.asked_type("According to the Paris Agreement, what happens next?") is None


def test_which_x_prefers_the_sentence_that_answers_to_one_that_only_repeats_x(tmp_path):
    bot = _bot_over(tmp_path, {"signing.md": _doc(
        "Mayor signs two pacts", "2024-01-02",
        "At the meeting, Mayor Chen signed the River Compact and the Bridge Accord with the "
        "governor. The documents are at Annex 1 and Annex 2.\n")})
    assert "River Compact" in _pool(bot, "Which documents did Mayor Chen sign at the meeting?")[0][0].text


def test_what_someone_said_is_asked_for_and_a_speech_gives_it(tmp_path):
    assert asked.asked_type("What did the mayor say the plan would do?") == "speech"
    assert asked.asked_type("What did Mayor Chen compare the two cities to?") == "speech"
    assert asked.asked_type("李家超在重庆说了什么？") == "speech"
    assert asked.asked_type("安倍晉三說歐盟和日本將扮演什麼角色？") == "speech"
    assert asked.asked_type("这份报告说明了什么？") is None
    # A text "says" too: that is no speech.
    assert asked.asked_type("What does the plan say about finance?") is None
    assert asked.gives("speech", '"It will bring us closer," the mayor said.', "What did he say?")
    assert not asked.gives("speech", "The bridge opens in 2026.", "What did he say?")
    # The sentences of a speech after "the mayor said that ..." give what was said too.
    bot = _bot_over(tmp_path, {"speech.md": _doc(
        "Mayor's speech", "2024-01-02",
        "The mayor said that he was glad to visit. The bridge will bring the two cities closer.\n\n"
        "# Facts\n\nThe bridge will be 4 km long.\n")})
    pool = _pool(bot, "What did the mayor say the bridge would do?")[0]
    said = {c.text: c.gives_type for c in pool}
    assert said["The bridge will bring the two cities closer."]
    assert not said["The bridge will be 4 km long."]


def test_a_question_in_another_language_than_its_passage_is_judged_so_either_way(tmp_path):
    """Its words are then "unknown" to the passage whatever the texts say: an English question
    over a Chinese text as much as a Chinese one over an English text."""
    bot = _bot_over(tmp_path, {"bridge.md": _doc(
        "大橋通車", "2018-10-24", "港珠澳大橋於2018年10月24日通車。海底隧道長約6.7公里。\n")})
    assert bot.evidence_for("How long is the undersea tunnel?")[0].cross_language == 1.0
    assert bot.evidence_for("海底隧道有多長？")[0].cross_language == 0.0


def test_a_number_of_the_thing_counted_may_name_it_in_other_words():
    question = "How many nations signed the accords?"
    assert asked.gives("quantity", "Representatives of seven other countries signed them.", question)
    assert not asked.gives("quantity", "The signing took 3 hours.", question)
    # A unit has no other name: a number of something else still does not answer it.
    assert not asked.gives("quantity", "Seven countries signed.", "How many hours did it take?")


def test_a_web_address_does_not_make_a_name_a_common_noun():
    texts = ["Learn more at https://www.nasa.gov/specials/artemis/ or mail press@un.org."]
    assert "Artemis" in asked.names("What did the EU pledge for the Artemis program?",
                                    asked.lowercase_words(texts))
    assert "Finance" not in asked.names("What about the Finance plan?",
                                        asked.lowercase_words(["the finance plan"]))


def test_for_joins_two_names_unless_it_names_an_office():
    assert asked.each_name(["Artemis Accords for NASA"]) == ["Artemis Accords", "NASA"]
    assert asked.each_name(["Secretary for Justice"]) == ["Secretary for Justice"]
    assert asked.each_name(["Chief Secretary for Administration"]) == ["Chief Secretary for Administration"]
    assert asked.each_name(["Hong Kong and Chongqing"]) == ["Hong Kong", "Chongqing"]


def test_a_month_or_a_year_after_in_is_no_place():
    question = "Where did she announce the deal?"
    assert not asked.gives("place", "Announcing the deal in March, she told delegates.", question)
    assert not asked.gives("place", "The deal was announced in 2023.", question)
    assert asked.gives("place", "She announced the deal in Tokyo.", question)


def test_a_person_named_by_title_is_told_from_capitalised_words():
    # "Who ...?" prefers the first (compose.TITLED_WEIGHT; the real model's figures: dev d17
    # "Who is Lee Ka-chiu?" and corpus2_holdout h16 "Who chaired the COP21 conference?").
    assert asked.names_a_titled_person("Foreign Minister Laurent Fabius brought down the gavel.")
    assert asked.names_a_titled_person("UN Secretary-General Ban Ki-moon called it a triumph.")
    assert not asked.names_a_titled_person("Delegates adopted the Paris Agreement at Le Bourget.")


def test_a_reaction_or_remarks_ask_what_someone_said():
    assert asked.asked_type("What was the secretary-general's reaction to the deal?") == "speech"
    assert asked.asked_type("What remarks did the mayor make at the signing?") == "speech"
    assert asked.asked_type("How did the minister respond to the criticism?") == "speech"
    # No speaker named: the reaction of a market is no speech.
    assert asked.asked_type("What was the reaction of the market?") is None


def test_a_time_told_from_another_answers_when():
    question = "When will the quotas on beef disappear?"
    assert asked.gives("date", "All limits will be lifted after ten years.", question)
    assert asked.gives("date", "The caps go within 6 months.", question)
    assert not asked.gives("date", "The quotas on beef will grow each year.", question)


def test_a_toll_is_asked_in_money():
    question = "What is the toll for a car crossing the bridge?"
    assert asked.asked_type(question) == "quantity"
    assert not asked.gives("quantity", "The bridge is 55 km long.", question)
    assert asked.gives("quantity", "A car pays HK$150 to cross.", question)


LIST_DOC = ("# Priority areas\n\n"
            "Firms in other sectors, such as health, will benefit from the port link.\n\n"
            "The port link agreement names the following three sectors:\n\n"
            "* finance, with loans for port firms;\n"
            "* shipping, with more routes;\n"
            "* data services.\n")


@pytest.mark.parametrize("question", [
    "Which sectors will the port link concentrate on?",
    "What areas does the port link agreement cover?",
    "港口合作有哪些重点领域？",
])
def test_a_question_asking_for_several_things_gets_the_list(tmp_path, question):
    assert asked.asks_list(question)
    bot = _bot_over(tmp_path, {"port.md": _doc("Port link agreed", "2024-01-02", LIST_DOC)})
    answer = _compose(bot, question)["answer"]
    assert "following three sectors:" in answer and "shipping" in answer


def test_a_single_thing_asked_is_not_a_list():
    for question in ("Which body is in charge of the port?", "What is the toll?",
                     "What does the plan say about finance?", "What process does it use?"):
        assert not asked.asks_list(question), question


def test_a_list_of_what_others_did_does_not_answer_for_the_person_asked(tmp_path):
    """'Which documents did Mayor Chen sign': his signature, not the list of what the
    departments signed beside it."""
    bot = _bot_over(tmp_path, {"sign.md": _doc(
        "Two cities sign pacts", "2024-01-02",
        "At the meeting, Mayor Chen signed the River Compact with the governor. In addition, "
        "two documents were signed by the departments of the two cities:\n\n"
        "* the Port Memorandum;\n* the Data Memorandum.\n")})
    pool = bot._retrieve("Which documents did Mayor Chen sign?", (), 5)[-1]   # as ask() ranks
    assert "River Compact" in pool[0].text


def test_the_day_of_a_month_counts_nothing():
    question = "How many people joined the delegation?"
    assert not asked.gives("quantity", "On May 10, people of the city joined the delegation.", question)
    assert not asked.gives("quantity", "9月5日，方案公布。", "方案有多少项措施？")
    assert asked.gives("quantity", "On 10 May 2023, 300 people joined it.", question)


def test_who_did_it_is_answered_by_the_sentence_that_says_by_whom(tmp_path):
    words = set(asked.tokenize(["Which ministers signed the port agreement?"])[0])
    assert asked.agent_of("The agreement was signed by Minister Wu and Minister Lam.", words)
    assert not asked.agent_of("Premier Li and President Xi witnessed the signing.", words)
    assert asked.agent_of("The talks were presided over by Rena Lee.",
                          set(asked.tokenize(["Who presided over the talks?"])[0]))
    bot = _bot_over(tmp_path, {"port.md": _doc(
        "Port agreement signed", "2024-01-02",
        "Premier Li watched the ministers sign the port agreement. The port agreement was "
        "signed by Minister Wu.\n")})
    pool = bot._retrieve("Which ministers signed the port agreement?", (), 5)[-1]
    assert "signed by Minister Wu" in pool[0].text


def test_a_follow_ups_opening_word_does_not_hide_what_it_asks():
    assert asked.asked_type("And who signed it?") == "person"
    assert asked.asked_type("So, when does it open?") == "date"
    assert asked.asked_type("Andrew Lee said what?") is None


def test_an_office_before_the_name_and_a_named_body_are_surely_who():
    assert asked.names_a_titled_person(
        "It was signed by the President of the European Commission, Jean-Claude Juncker.")
    assert not asked.names_a_titled_person("the President of the country, which is large")
    assert asked.names_a_named_body("A Joint Implementation Committee will take charge.")
    assert not asked.names_a_named_body("The committee will take charge.")


def test_how_old_asks_an_age_not_any_number():
    question = "How old is the mayor?"
    assert not asked.gives("quantity", 'He stands for "one country, two systems".', question)
    assert asked.gives("quantity", "The mayor, aged 58, led the delegation.", question)
    assert asked.gives("quantity", "The 58-year-old mayor led it.", question)


def test_a_persons_birth_or_schooling_the_answer_does_not_speak_of_refuses(bot: Bot):
    for question in ("Where was the mayor born?", "Which university did the mayor graduate from?"):
        ev, _ = bot.evidence_for(question)
        assert ev.attribute_missing == 1.0, question
        assert not bot.ask(question)["answered"], question
    assert bot.evidence_for("When did the mayor start the trip?")[0].attribute_missing == 0.0
    assert not asked.attribute_missing("Where was the mayor born?", "The mayor, born in Wuhan, led it.")
    assert asked.attribute_missing("李市长在哪里出生？", "李市长率团访问。")


def test_a_chinese_questions_dates_are_also_searched_as_english_texts_write_them(bot):
    from bot.text.chinese import english_dates
    assert english_dates("2023年5月带领代表团的是谁？") == ["May 2023"]
    assert english_dates("5月10日") == ["10 May"] and english_dates("13月") == []
    _, query, _ = bot.understand("2023年5月带领代表团的是谁？")
    assert "May 2023" in query


def test_a_close_answer_from_the_document_with_the_questions_names_beats_a_contradicted_one(tmp_path):
    from bot.qa.abstention import NAMES_RESCUE_GAP, prefer_documents_with_names
    from bot.qa.compose import Candidate
    bot = _bot_over(tmp_path, {
        "loop.md": _doc("Loop memorandum", "2017-01-03",
                        "The Loop memorandum was signed at the Central Government Offices.\n"),
        "other.md": _doc("Port pact", "2015-11-07",
                         "The signing took place during the state visit to the island.\n")})
    question = "Where did the Loop signing take place?"
    hits = bot._retrieve(question, (), 5)[4]
    rank = {bot.index.passages[h.idx].doc_id: r for r, h in enumerate(hits)}
    near = [Candidate(rank["other"], 0, "The signing took place during the state visit.", 1.0),
            Candidate(rank["loop"], 0, "The Loop memorandum was signed at the Offices.",
                      1.0 - NAMES_RESCUE_GAP / 2)]
    assert prefer_documents_with_names(bot.index, hits, question, [], near)[0].text.startswith("The Loop")
    far = [Candidate(rank["other"], 0, "The signing took place during the state visit.", 1.0),
           Candidate(rank["loop"], 0, "The Loop memorandum was signed at the Offices.",
                     1.0 - 2 * NAMES_RESCUE_GAP)]
    assert prefer_documents_with_names(bot.index, hits, question, [], far)[0].text.startswith("The signing")


def test_what_someone_named_said_is_not_answered_by_someone_elses_words(tmp_path):
    assert asked.speaker("What did Japan's trade minister say about the pact?").startswith("Japan's")
    assert asked.speaker("What did he say?").strip() == "he"
    assert asked.speaker("When did the pact open?") == ""
    bot = _bot_over(tmp_path, {"pact.md": _doc(
        "Pact in force", "2022-01-01",
        'The pact entered into force today. "It keeps markets open," the secretary-general '
        "said. Cambodia's minister said it would bring new opportunities.\n")})
    ev, _ = bot.evidence_for("What did Japan's trade minister say about the pact?")
    assert ev.speaker_missing == 1.0
    assert bot.evidence_for("What did Cambodia's minister say about the pact?")[0].speaker_missing == 0.0


def test_a_chinese_question_naming_a_common_place_the_texts_never_name_refuses(tmp_path):
    bot = _bot_over(tmp_path, {"pact.md": _doc(
        "Pact signed", "2024-01-02", "Singapore and the river city signed a port pact.\n")})
    assert bot.evidence_for("广州和新加坡签了什么协议？")[0].name_unknown == 1.0   # no Guangzhou
    assert bot.evidence_for("新加坡签了什么协议？")[0].name_unknown == 0.0        # Singapore is


def test_an_elliptical_follow_up_asks_what_the_earlier_turn_asked(tmp_path):
    from bot.qa.engine import _asks_as
    assert _asks_as("And for Malaysia?", ["Who signed it for Singapore?"]) == "Who signed it for Singapore?"
    assert _asks_as("And when did it open?", ["Who signed it?"]) is None     # asks its own
    assert _asks_as("For Malaysia?", []) is None
    bot = _bot_over(tmp_path, {"link.md": _doc(
        "Rail link signed", "2024-01-02",
        "The rail link for Malaysia will open the border in 2026. "
        "Minister Wee signed it for Malaysia.\n")})
    pool = bot._retrieve("And for Malaysia?", ["Who signed the rail link agreement for Singapore?"], 5)[-1]
    assert "Minister Wee" in pool[0].text


def test_a_question_asking_for_several_things_prefers_the_sentence_naming_several(tmp_path):
    import time
    from bot.qa.compose import ENUMERATION_WEIGHT, enumerates
    assert enumerates("They toured the Science Park, the Cultural District, the Museum and Dazu Rock Carvings.")
    assert not enumerates("They toured the Science Park in the morning, and then left.")
    started = time.perf_counter()
    assert not enumerates("Aa " * 5000) and enumerates("Aa, " * 5000)   # linear: no backtracking
    assert time.perf_counter() - started < 0.05
    bot = _bot_over(tmp_path, {"tour.md": _doc(
        "Students tour the city", "2024-03-31",
        "The students like sights. The students tour the Planning Hall, the Rock Carvings, the "
        "City Museum and the Old Town.\n")})

    def score_of(question: str) -> float:
        pool = bot._retrieve(question, (), 5)[-1]
        return next(c.score for c in pool if "Planning Hall" in c.text)
    # The same words; only the plural asks for several.
    gain = score_of("Which sights will the students tour?") - score_of("Which sight will the students tour?")
    assert gain == pytest.approx(ENUMERATION_WEIGHT, abs=0.02) and gain > 0.1


def test_who_and_by_whom_are_read_in_time_linear_in_the_sentence():
    import time
    words = set(asked.tokenize(["Who signed it?"])[0])
    asked.agent_of("It was signed by Wu.", words)   # warm the tokeniser
    started = time.perf_counter()
    for long in ("Aa " * 330, "a-" * 500 + " by " + "a-" * 500):
        asked.names_a_named_body(long + "x")
        asked.agent_of(long + " by x", words)
    assert time.perf_counter() - started < 0.05


def test_which_rank_in_chinese_is_answered_by_a_rank_not_any_ordinal():
    question = "香港是重庆的第几大贸易伙伴？"
    assert asked.asked_type(question) == "rank"
    assert asked.gives("rank", "Hong Kong will become Chongqing's fourth largest trading partner.", question)
    assert asked.gives("rank", "香港是重庆第四大贸易伙伴。", question)
    assert not asked.gives("rank", "Ms Xiang, member of the Sixth Chongqing Committee, said so.", question)
    assert not asked.gives("rank", "It is the first time he visits Chongqing.", question)


def test_how_many_counts_the_head_of_a_compound_and_its_other_names():
    question = "How many cooperation deals did the two governments ink?"
    assert asked.gives("quantity", "The two sides signed six co-operation agreements.", question)
    assert not asked.gives("quantity", "The meeting lasted two hours.", question)
    # "how many people live": the word after the head is a verb, not the thing counted.
    assert asked.gives("quantity", "About 2.2 billion people live in the bloc.",
                       "How many people live in the bloc?")


def test_a_year_alone_is_no_count():
    question = "How many branch lines were opened?"
    assert not asked.gives("quantity", "In 2018, the branch line of the corridor was opened.", question)
    assert asked.gives("quantity", "In 2018, three branch lines were opened.", question)


def test_an_acronyms_plural_is_the_acronym_the_texts_write():
    forms: list[set[str]] = []
    assert asked.missing_names(fold_key("The two SAR governments agreed."), ["SARs"], forms) == 0
    assert asked.missing_names(fold_key("The two SARs agreed."), ["SARs"], forms) == 0
    assert asked.missing_names(fold_key("The two cities agreed."), ["SARs"], forms) == 1


def test_a_chinese_document_holds_the_names_an_english_question_writes_in_english(tmp_path: Path):
    # "Hong Kong" is too common for the question's expansion to add 香港, and "Dongjiang" sits
    # inside the longer name "Dongjiang water": the variants table still knows both, so the
    # Chinese document that answers holds them (the English question is not refused for it).
    index = _bot_over(tmp_path, {
        "water.md": _doc("東江水供水協議", "2024-12-10", "廣東省每年向香港供應東江水的上限維持在8.2億立方米。\n"),
        "harbour.md": _doc("Harbour week", "2024-04-28", "Hong Kong held a food festival.\n"),
        "variants.yaml": "- names: [Hong Kong, 香港]\n- names: [Dongjiang, 東江]\n"
                         "- names: [Dongjiang water, 東江水]\n- names: [Guangdong, 廣東]\n"}).index
    water = next(i for i in range(len(index.passages)) if index.passages[i].doc_id == "water")
    names = ["Dongjiang", "Guangdong", "Hong Kong"]
    matched = asked.group_forms([g for g in index.variants if "Guangdong" in g["names"]])
    outside = answerability._outside_document
    assert outside(index, water, names, matched) == 0.5     # "Hong Kong" only in English
    assert outside(index, water, names, matched + answerability.table_forms(index)) == 0.0


# --- session 11: kinds met in a sixth corpus written blind -----------------------------------

def test_a_count_before_a_plural_asks_for_the_list_not_a_measure():
    question = "What are the five areas of the customs arrangement?"
    assert asked.asked_type(question) is None and asked.asks_list(question)
    assert asked.asked_type("What is the area of the new park?") == "quantity"


SEMICOLON_LIST = ("The arrangement covers the following five areas: mutual recognition of "
                  "certification and compliance standards for traders; reduced inspection rates "
                  "and priority clearance for certified shipments; exchange of information on "
                  "certified companies through a secure channel; joint business continuity "
                  "measures after disruptions such as typhoons; and regular consultations and "
                  "joint training of customs officers.\n")


def test_a_list_run_into_one_sentence_after_its_colon_is_brought_whole(tmp_path):
    """A bulleted list read as one paragraph: "...five areas: a; b; c; d; and e." The sentence
    that introduces it stands alone and brings all five items, not the first alone."""
    bot = _bot_over(tmp_path, {"customs.md": _doc("Customs arrangement signed", "2025-06-10",
                                                  SEMICOLON_LIST)})
    answer = _compose(bot, "What are the five areas of the customs arrangement?")["answer"]
    assert answer.startswith("The arrangement covers the following five areas: mutual")
    assert "reduced inspection rates" in answer and "joint training" in answer


def test_a_chinese_list_after_a_colon_that_ends_its_line_is_brought_whole(tmp_path):
    body = ("备忘录涵盖以下三个方面：\n一是联合推广，双方互推20条旅游线路；\n二是文博交流，文物赴港展出；\n"
            "三是人才交流，每年互派50名从业人员。\n\n双方还将举办文化旅游周。\n")
    bot = _bot_over(tmp_path, {"tour.md": _doc("川港签署文化旅游合作备忘录", "2025-09-03", body)})
    answer = _compose(bot, "备忘录涵盖哪些方面？")["answer"]
    assert answer.startswith("备忘录涵盖以下三个方面：一是联合推广")
    assert "二是文博交流" in answer and "三是人才交流" in answer and "；；" not in answer


def test_a_chinese_list_must_name_what_a_chinese_question_asks_for():
    from bot.qa.compose import _names_the_thing

    def names(intro: str, question: str) -> bool:
        return _names_the_thing(intro, asked.asked_thing_zh(question))
    assert names("备忘录涵盖以下五个方面：", "备忘录涵盖哪些方面？")
    assert names("合作安排涵蓋以下五個範疇：", "安排包括哪五個範疇？")
    assert not names("扩区后的合作区包括以下区域：", "到2035年要实现哪些目标？")
    assert names("The plan covers the following areas:", "计划有哪些目标？")


def test_a_list_given_in_its_own_sentence_is_as_whole_an_answer_as_an_introduced_one(tmp_path):
    body = ("Countries that sign the accords commit to the following:\n\n"
            "* peaceful purposes: all activities will be peaceful;\n"
            "* transparency: signatories will describe their plans openly.\n\n"
            "The eight founding members of the accords are: Australia, Canada, Italy, Japan, "
            "Luxembourg, the United Arab Emirates, the United Kingdom and the United States.\n")
    bot = _bot_over(tmp_path, {"accords.md": _doc("Moon accords signed", "2020-10-13", body)})
    pool = bot._retrieve("Which countries are the founding members?", (), 5)[-1]
    assert pool[0].text.startswith("The eight founding members")


def test_where_is_not_answered_by_the_place_the_question_itself_names():
    question = "Where did Mr Chow go the day after signing the memorandum in Haikou?"
    assert not asked.gives("place", "The memorandum was signed today in Haikou.", question)
    assert asked.gives("place", "Mr Chow will visit the Yangpu zone and return to Hong Kong.",
                       question)
    # A place the question names as a party may be the answer.
    assert asked.gives("place", "The next conference will be held in Hong Kong in 2026.",
                       "Where will the next Hong Kong–Guangxi conference take place?")


def test_a_thing_put_at_another_place_than_the_question_puts_it_contradicts():
    question = "When will the HKTDC service desk in Qinzhou open?"
    assert asked.swapped_places(question, "The HKTDC service desk in Nanning will open in June.") \
        == ["Qinzhou"]
    assert not asked.swapped_places(question, "The service desk in Qinzhou will open in June.")
    assert not asked.swapped_places("Where will the meeting be held in 2027?",
                                    "The meeting will be held in Hong Kong in 2026.")
    assert answerability._place_swapped(question, "The desk in Nanning opens in June.", []) == 1.0
    # ... unless the sentence names the question's place in a form the table knows.
    forms = [{fold_key("Qinzhou"), fold_key("钦州")}]
    assert answerability._place_swapped(question, "The desk in Nanning, 钦州 office, opens.",
                                        forms) == 0.0


def test_refusing_and_leaving_out_are_negations_in_english_and_chinese():
    for question in ("Which proposals did Hong Kong turn down?", "Which items were left out?",
                     "川港备忘录谈判中，四川拒绝了香港的哪些提议？", "哪些措施没有获得广东方面同意？"):
        assert asked.is_negated(question), question
    for question in ("What will the fund support in the next five years?", "未来五年将投入多少资金？",
                     "双方将不断深化合作。"):
        assert not asked.is_negated(question), question


def test_a_sum_in_chinese_is_no_year_and_answers_how_much_funding():
    question = "How much funding will Sichuan set aside for tourism?"
    assert asked.gives("quantity", "四川将设立1500万元文旅合作专项资金。", question)
    assert asked.years("四川将设立1500万元专项资金。") == set()
    assert asked.years("2024年，香港居民赴川旅游达68万人次。") == {"2024"}
    assert not asked.gives("quantity", "Some 300 firms will take part.", question)


def test_the_words_of_a_documents_title_count_for_every_sentence_of_it(tmp_path):
    """"Who signed the Hong Kong–Hainan memorandum on green finance?" restates the title; the
    lead sentence repeats it word for word, the sentence that says who signed it does not, and
    loses less to it under that title than under another."""
    body = ("Hong Kong and Hainan Province today signed a memorandum of understanding on green "
            "finance and carbon market cooperation in Haikou. The memorandum was signed by the "
            "Secretary for Financial Services, Mr Raymond Chow, and the Vice Governor of Hainan, "
            "Ms Liang Zhihua.\n")
    question = "Who signed the Hong Kong-Hainan memorandum on green finance and carbon markets?"
    gaps = []
    for name, title in (("titled", "Hong Kong and Hainan sign memorandum on green finance and "
                                   "carbon market cooperation"), ("other", "Press release")):
        folder = tmp_path / name
        folder.mkdir()
        pool = _bot_over(folder, {"green.md": _doc(title, "2025-05-15", body)})._retrieve(
            question, (), 5)[-1]
        score = {c.position: c.score for c in pool}
        gaps.append(score[0] - score[1])
    assert gaps[0] < gaps[1] - 0.02


def test_a_second_sentence_never_brings_a_list(tmp_path):
    body = ("The park will bring an annual economic contribution of about HK$52 billion.\n\n"
            "Under the memorandum, the two governments agreed on the following key points:\n\n"
            "* (a) the park will be developed for research;\n* (b) the land is Hong Kong's.\n")
    bot = _bot_over(tmp_path, {"park.md": _doc("Park memorandum", "2017-01-03", body)})
    question = "How much will the park contribute to the economy each year?"
    _, query, _, vector, hits, pool = bot._retrieve(question, (), 5)
    first = next(c for c in pool if "HK$52 billion" in c.text)
    intro = next(c for c in pool if c.text.endswith("key points:"))
    first.score, intro.score = 1.0, 0.99   # nearly as good: pick_sentences would take both
    answer = compose(bot.index, hits, vector, query, question, [first, intro])[0]
    assert "HK$52 billion" in answer and "key points" not in answer


def test_hong_kongs_way_of_writing_what_asks_the_same():
    assert asked.asked_type("香港與越南的海關互認安排甚麼時候生效？") == "date"
    assert asked.asked_type("簽約儀式在甚麼地方舉行？") == "place"
    assert asked.asks_list("合作安排包括甚麼？")
    assert asked.asked_type("合作安排由哪兩位官員簽署？") == "person"
    assert asked.asked_type("哪些官员出席了签约仪式？") == "person"


def test_who_signed_in_chinese_is_the_clause_after_you_that_ends_in_the_verb():
    words = set(asked.tokenize(["合作安排由哪兩位官員簽署？"])[0])
    assert asked.agent_of("合作安排由勞工及福利局局長鄭家豪與廣東省民政廳廳長林曉東代表雙方簽署。", words)
    assert not asked.agent_of("社會福利署署長梁慧珊，以及約80名官員出席簽署儀式。", words)
    assert not asked.agent_of("參與院舍將由現時的4間增至12間。", words)
    assert asked.gives("person", "社會福利署署長梁慧珊出席儀式。", "誰出席了儀式？")
    assert not asked.gives("person", "參與院舍將增至12間。", "誰出席了儀式？")


def test_when_no_best_passage_holds_the_questions_names_a_document_further_down_that_does_leads(tmp_path):
    """A Chinese question naming 广西 over Chinese reports on Sichuan and an English one on
    Guangxi: the reports in the question's language come first in meaning, not in subject."""
    zh = "\n\n".join(f"川港合作第{i}项：双方签署了{i}份协议，推动旅游合作。" for i in range(1, 5))
    bot = _bot_over(tmp_path, {
        "sichuan.md": _doc("川港签署合作备忘录", "2025-09-03", zh + "\n"),
        "guangxi.md": _doc("Hong Kong and Guangxi sign 12 deals", "2025-06-10",
                           "Hong Kong and Guangxi signed 12 cooperation agreements.\n")})
    question = "香港与广西签了多少份协议？"
    _, query, groups = bot.understand(question)
    hits = bot.retriever.search(query, bot.embed(query), k=5, lexical_query=query,
                                words=question, groups=groups)
    guangxi = [h for h in hits if bot.index.passages[h.idx].doc_id == "guangxi"]
    assert guangxi, "the English report is retrieved at all"
    others = [h for h in hits if h not in guangxi]
    assert others
    ranked = answerability.documents_with_names(bot.index, others + guangxi, question, groups, 1)
    assert [bot.index.passages[h.idx].doc_id for h in ranked] == ["guangxi"]
    # ... and nothing moves when one of the best already holds them.
    assert answerability.documents_with_names(bot.index, guangxi + others, question, groups, 1) \
        == guangxi[:1]
    assert answerability.documents_with_names(bot.index, others, question, groups, 1) == others[:1]
    # The deeper search is made only when none of the best holds the names.
    assert answerability.none_hold_names(bot.index, others[:1], question, groups)
    assert not answerability.none_hold_names(bot.index, guangxi[:1], question, groups)


def test_a_verb_acting_on_another_name_than_the_questions_contradicts():
    question = "How many countries adopted the Kyoto Protocol at Le Bourget?"
    sentence = "Representatives of 195 countries adopted the Paris Agreement at Le Bourget."
    assert asked.swapped_objects(question, sentence) == ["Kyoto Protocol"]
    assert answerability._place_swapped(question, sentence, []) == 1.0
    assert not asked.swapped_objects("Who adopted the Paris Agreement?", sentence)
    assert not asked.swapped_objects("When did John Lee visit Chongqing?",
                                     "On May 10, Li Jiachao visited Chongqing.")


def test_last_year_is_the_year_before_the_text_was_written():
    """A report of June 2025 that gives "in 2024" answers "last year" as its reader meant it;
    a year the report's "last year" cannot be, or no year at all, does not."""
    question = "How much Hong Kong investment did Guangxi receive last year?"
    said = "Guangxi received investment from Hong Kong worth US$4.3 billion in 2024."
    assert answerability.specifics(question, said, "2025-06-10") == 0.0
    assert answerability.specifics(question, said.replace("2024", "2022"), "2025-06-10") == 1.0
    assert answerability.specifics(question, said.replace(" in 2024", ""), "2025-06-10") == 1.0
    assert answerability.specifics(question, said, "") == 1.0   # an undated text: whose year?
    assert answerability.specifics("去年有多少香港居民去四川旅游？", "2024年香港居民赴川旅游达68万人次。",
                                   "2025-09-03") == 0.0
    assert answerability.specifics("What will Guangxi invest next year?", "It will invest more in 2026.",
                                   "2025-06-10") == 0.0
    # "today" is no year: a dated report's day is not the reader's.
    assert answerability.specifics("What did Guangxi announce today?", "It announced a plan in 2025.",
                                   "2025-06-10") == 1.0


def test_the_sentence_that_says_the_questions_event_in_other_words_gives_its_date(tmp_path):
    """"Come into force" is "take effect": its date is the answer, not the signing's "Tuesday"
    in the lead sentence that restates the question's subject."""
    body = ("HANOI, June 10 - Hong Kong and Vietnam signed a trusted trader arrangement on "
            "Tuesday that will let trusted traders from each side clear goods faster.\n\n"
            "Some 68 Hong Kong companies hold trusted trader status.\n\n"
            "The arrangement will take effect on 1 September 2025.\n")
    bot = _bot_over(tmp_path, {"aeo.md": _doc("Hong Kong and Vietnam sign trusted trader deal",
                                              "2025-06-10", body)})
    question = "When does the Hong Kong–Vietnam trusted trader arrangement come into force?"
    _, query, _, vector, hits, pool = bot._retrieve(question, (), 5)
    assert pool[0].text == "The arrangement will take effect on 1 September 2025."
    assert "1 September 2025" in compose(bot.index, hits, vector, query, question, pool)[0]


def test_a_number_in_a_sentence_sharing_no_word_with_the_question_is_no_value_of_it(tmp_path):
    """"How much will the desk cost?" is not answered by the investment projects' sum told in
    the passage that names the desk: that sentence shares none of the question's words."""
    body = ("The trade council and the commerce department agreed to set up a joint service "
            "desk in Nanning. A total of 36 investment projects worth about 28 billion yuan "
            "were announced.\n")
    bot = _bot_over(tmp_path, {"gx.md": _doc("Guangxi conference", "2025-06-10", body)})
    question = "How much will it cost to run the service desk in Nanning?"
    _, _, groups, _, hits, pool = bot._retrieve(question, (), 5)
    total = next(c for c in pool if "28 billion yuan" in c.text)
    assert total.gives_type   # a sum: it is what the meaning-blind type check looks for
    ranked = [total] + [c for c in pool if c is not total]   # as the real model ranks them
    ev = answerability.evidence(bot.index, hits, question, groups, ranked)
    assert ev.value_missing == 1.0
    # ... while a sum of the thing asked about is its value.
    assert not answerability._unrelated("The desk will cost 2 million yuan a year.", question,
                                        asked.tokenize([question])[0], set())
    # Across languages no words are shared: that tells nothing.
    assert not answerability._unrelated("投资总额达280亿元。", question,
                                        asked.tokenize([question])[0], set())


def test_which_five_in_chinese_asks_for_a_list_which_one_does_not():
    assert asked.asks_list("粵港安老合作安排包括哪五個範疇？")
    assert asked.asks_list("双方签署了哪三份协议？")
    assert asked.asks_list("涉及哪10个城市？")
    assert asked.asked_thing_zh("双方签署了哪三份协议？") == "协议"
    assert not asked.asks_list("协议是哪一天签署的？")


def test_chinese_ordinals_are_the_english_ones():
    """"第三次會議" is the third meeting: a text that names only the first and second does not
    say where it is held, in English or Chinese."""
    assert asked.ordinals("渝港合作會議第三次會議在哪裏舉行？") == asked.ordinals("the 3rd meeting") \
        == asked.ordinals("the third meeting") == {"3"}
    assert asked.ordinals("第十二届会议") == {"12"}
    assert asked.ordinals("第一次会议") == set()   # the first is the earliest as often
    assert answerability.specifics("港渝第二次全体会议什么时候举行？",
                                   "The first plenary session was held in Hong Kong.", "") == 1.0
    assert answerability.specifics("港渝第二次全体会议什么时候举行？",
                                   "The second plenary session will be held in Chongqing.", "") == 0.0


def test_a_chinese_pair_naming_a_place_by_one_character_finds_it_in_english_texts(tmp_path):
    """港瓊 is Hong Kong and Hainan: the English report on Hainan, which never writes 瓊, is
    found by the table's forms of Hainan; a report that writes the pair itself is left as it is."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hainan.md").write_text(_doc("Hong Kong and Hainan sign green finance memorandum",
                                           "2025-05-15", "Hong Kong and Hainan signed a memorandum "
                                           "on green finance in Haikou.\n"), encoding="utf-8")
    (corpus / "variants.yaml").write_text("- type: place\n  names: [Hainan, 海南]\n", encoding="utf-8")
    encoder = FakeEncoder()
    build_index(corpus, tmp_path / "index", encoder)
    bot = Bot.open(tmp_path / "index", encoder)
    standalone, query, groups = bot.understand("港瓊綠色金融備忘錄涵蓋哪些範疇？")
    assert "Hainan" in query and any("Hainan" in g["names"] for g in groups)
    assert "海南" in standalone   # its names are judged with the place in full
    # Texts that write 川港 themselves find it by it.
    (tmp_path / "zh").mkdir()
    zh = _bot_over(tmp_path / "zh", {"sc.md": _doc("川港签署文化旅游合作备忘录", "2025-09-03",
                                                    "川港双方签署了文化旅游合作备忘录。\n")})
    assert zh.understand("川港签署了什么？")[0] == "川港签署了什么？"


def test_where_in_chinese_is_answered_by_a_sentence_that_places_something():
    question = "深港高校科研合作聯盟的秘書處設在哪裏？"
    assert asked.gives("place", "联盟秘书处设在南方科技大学。", question)
    assert asked.gives("place", "成立大会在南方科技大学举行。", question)
    assert not asked.gives("place", "联盟表示，欢迎更多高校申请加入。", question)
    assert not asked.gives("place", "在资金方面，深圳市政府将投入10亿元。", question)


def test_a_things_end_is_not_answered_by_its_beginning():
    question = "When was the Southern Bureau dissolved?"
    began = "As early as 1939, the Southern Bureau was established in Chongqing."
    assert asked.opposite_event(question, began)
    assert not asked.opposite_event(question, "The Southern Bureau was dissolved in 1947.")
    assert not asked.opposite_event("When was the Southern Bureau established?", began)
    assert asked.opposite_event("南方局是什么时候解散的？", "南方局于1939年在重庆成立。")
    # "close cooperation" and "by the end of June" end nothing.
    assert not asked.opposite_event("When was the desk set up?",
                                    "The desk, set up by the end of June, ensures close cooperation.")


def test_where_the_ceremony_was_is_not_answered_by_at_the_ceremony():
    question = "Where did the signing ceremony take place?"
    assert not asked.gives("place", "Speaking at the signing ceremony, Professor Sun said it "
                                    "mattered.", question)
    assert asked.gives("place", "The agreement was signed at the Hong Kong Science Park.", question)
    # ... while an event the question does not name places the thing asked about.
    assert asked.gives("place", "He announced it at the opening dinner.", "Where did he announce it?")


def test_per_cent_is_a_share_not_a_sum():
    question = "How much is the government putting aside to cover compliance costs?"
    assert not asked.gives("quantity", "Close to 70 per cent of 1,200 companies said costs "
                                       "were a concern.", question)
    assert asked.gives("quantity", "The Government will set aside HK$50 million.", question)
    assert asked.gives("quantity", "A ride costs 50 cents.", "How much does a ride cost?")


def test_which_after_a_preposition_asks_for_a_list_too():
    assert asked.asks_list("In which overseas markets will Hong Kong and Macao hold promotions?")
    assert asked.asks_list("From which countries do the visitors come?")
    assert not asked.asks_list("In which city was it signed?")


def test_which_cities_is_answered_by_the_sentence_naming_several(tmp_path):
    body = ("In addition, the agreement provides study tours to Wuyishan, the earthen buildings "
            "and the port of Quanzhou for Hong Kong interns.\n\n"
            "Under the scheme, interns will work in Fuzhou, Xiamen, Quanzhou and Pingtan.\n")
    bot = _bot_over(tmp_path, {"fj.md": _doc("Hong Kong and Fujian launch internships",
                                             "2025-10-28", body)})
    question = "Which Fujian cities will the Hong Kong interns be placed in?"
    pool = bot._retrieve(question, (), 5)[-1]
    assert pool[0].text.startswith("Under the scheme, interns will work in Fuzhou")
