"""Answer quality with the real model on the real corpus: the passages, sentences and
abstentions a user would judge the bot by."""
import importlib.util
import statistics
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.qa.evaluation import first_hit, load_questions, score

from ..conftest import SHARED_EVAL

pytestmark = pytest.mark.slow
EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


@pytest.mark.parametrize("question,gold", [
    ("Who led the Hong Kong delegation to Chongqing in May 2023?", "led a delegation to start a three-day trip"),
    ("What does the Golden Phoenix Laboratory focus on?", "the laboratory focuses on life and health"),
    ("When was the Southern Bureau of the CPC Central Committee set up in Chongqing?", "as early as 1939"),
    ("What will the two sides do about postdoctoral talents?", "select outstanding postdoctoral talents"),
    ("What food event was part of Shanghai Week in Hong Kong?", "2024 Hong Kong Shanghai Food Festival"),
])
def test_questions_from_the_texts_find_their_passage_in_the_top_three(real_bot, question, gold):
    reply = real_bot.ask(question)
    assert reply["answered"]
    # Ranked as score.py ranks them: the cited passages, then the related ones.
    assert (first_hit(reply["citations"] + reply["related"], [gold]) or 99) <= 3


def test_the_answer_is_the_sentence_that_answers(real_bot):
    reply = real_bot.ask("Which trading-partner slot does Hong Kong hold for Chongqing?")
    assert "fourth largest trading partner" in reply["answer"]
    assert reply["answer"].rstrip().endswith("]")
    cit = reply["citations"][0]
    a, b = cit["highlights"][0]
    assert "fourth largest trading partner" in cit["text"][a:b]


@pytest.mark.parametrize("question,gold", [
    ("What did Paul Chan do during the Shanghai delegation's visit?", "Chen Maobo"),
    ("Who is Lee Ka-chiu?", "Li Jiachao"),
    ("What research is done at the Jinfeng Laboratory?", "focuses on life and health"),
    ("Which officials went with Eric Chan to Chongqing?", "Chan Kwok-k"),
])
def test_other_name_forms_find_the_passage(real_bot, question, gold):
    reply = real_bot.ask(question, always_cite=True)   # retrieval, whatever the abstention says
    ranked = reply["citations"] + reply.get("related", [])   # as score.py ranks them
    assert (first_hit(ranked[:5], [gold]) or 99) <= 5, reply["query"]


def test_follow_up_uses_the_history(real_bot):
    reply = real_bot.ask("What did he say there?",
                         ["Where did Gong Zheng attend the Shanghai Global Promotion Conference?"])
    assert "Gong Zheng" in reply["query"]
    assert first_hit(reply["citations"], ["Shanghai is accelerating the construction"]) is not None


@pytest.mark.parametrize("question", [
    "Who won the Champions League final?",
    "What is the weather forecast for Chongqing tomorrow?",
    "How large is Chongqing in square kilometres?",
    "What is the recipe for Chongqing hot pot?",
    "Write a Python function that sorts a list.",
])
def test_off_topic_questions_are_not_answered(real_bot, question):
    reply = real_bot.ask(question)
    assert reply["answered"] is False and reply["citations"] == []
    assert "do not" in reply["answer"]


def test_reports_of_the_same_event_are_cited_once(real_bot):
    reply = real_bot.ask("What did Li Jiachao say about the relationship between Hong Kong and Chongqing?")
    ids = [c["passage_id"] for c in reply["citations"]]
    folded = [d["passage_id"] for c in reply["citations"] for d in c["also_in"]]
    assert folded, "the press release and the news report say the same sentence"
    assert not set(ids) & set(folded)


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason="shared/eval is beside the checkout in CI")
def test_dev_set_figures(real_bot):
    # multilingual-e5-small with the abstention fitted without the dev sets, measured: hit@1
    # 1.0, hit@5 1.0, answer_hit 1.0 (.958 until "who" preferred a person named by title:
    # d17, "Who is Lee Ka-chiu?"), abstain_ok 1, false_abstain 0.
    out = score(real_bot, load_questions(SHARED_EVAL))
    assert out["hit@1"] >= 0.95 and out["hit@5"] == 1.0 and out["mrr@5"] >= 0.95
    assert out["retrieval_hit@5"] == 1.0 and out["retrieval_hit@1"] >= 0.95
    assert out["answer_hit"] == 1.0 and out["abstain_ok"] == 1.0 and out["false_abstain"] == 0


DEV_ZH = SHARED_EVAL.with_name("dev_zh.jsonl")


@pytest.mark.skipif(not DEV_ZH.exists(), reason="shared/eval is beside the checkout in CI")
def test_chinese_questions_find_the_english_passages_and_most_are_answered(real_bot):
    # Measured: hit@1 .8, hit@5 .967 (MiniLM: .07, every question refused), false_abstain 0,
    # abstain_ok 1 ("今天重慶的天氣如何？" is refused: "today" is the reader's, not the texts').
    out = score(real_bot, load_questions(DEV_ZH))
    assert out["retrieval_hit@5"] >= 0.9 and out["hit@5"] >= 0.9 and out["hit@1"] >= 0.75
    assert out["abstain_ok"] == 1.0 and out["false_abstain"] <= 0.1


def test_our_chinese_set_and_near_misses(real_bot):
    zh = score(real_bot, load_questions(EVAL_DIR / "zh_hard.jsonl"))
    assert zh["retrieval_hit@5"] >= 0.8 and zh["hit@5"] >= 0.5
    near = score(real_bot, load_questions(EVAL_DIR / "near_misses.jsonl"))
    assert near["abstain_ok"] >= 0.65   # measured .688 (.25 before the contradiction rules)


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason="shared/eval is beside the checkout in CI")
def test_accord_eval_agrees_with_score_py_against_the_server(real_app, real_bot):
    spec = importlib.util.spec_from_file_location("score", SHARED_EVAL.parent / "score.py")
    score_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score_py)
    server = make_server("127.0.0.1", 0, real_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = load_questions(SHARED_EVAL)
        remote = score_py.score(rows, f"http://127.0.0.1:{server.server_port}", 5)
    finally:
        server.shutdown()
    local = score(real_bot, rows)
    assert remote["errors"] == 0
    for key in ("hit@1", "hit@3", "hit@5", "mrr@5", "answer_hit", "false_abstain", "abstain_ok"):
        assert remote[key] == pytest.approx(local[key]), key


def test_asking_costs_little_more_than_encoding_the_question(real_bot):
    questions = [r["question"] for r in load_questions(EVAL_DIR / "generalization.jsonl")][:40]
    encode, ask = [], []
    for q in questions:
        t = time.perf_counter()
        real_bot.encoder.encode_query(q + " ?")   # the bot's own query path, a text its cache lacks
        encode.append(time.perf_counter() - t)
        t = time.perf_counter()
        real_bot.ask(q)
        ask.append(time.perf_counter() - t)
    # The figure is 1.5x over HTTP, measured by the benchmark; here a loose guard.
    assert statistics.median(ask) <= 2.0 * statistics.median(encode)


def _bot_over(name: str, tmp_path_factory, encoder):
    """A bot (real model) over the test corpus eval/NAME, built into a temporary folder."""
    from bot.index.build import build_index
    from bot.qa.engine import Bot
    index = tmp_path_factory.mktemp(f"{name}-index")
    build_index(EVAL_DIR / name, index, encoder)
    return Bot.open(index, encoder)


@pytest.fixture(scope="module")
def second_corpus_bot(tmp_path_factory, real_encoder):
    return _bot_over("corpus2", tmp_path_factory, real_encoder)


def test_a_second_corpus_and_its_held_out_questions(second_corpus_bot):
    # Measured (session 7): corpus2 hit@1 .914, answer_hit .886, false_abstain .057 (2 of 35);
    # corpus2_holdout, written by someone who saw neither the code nor corpus2's other sets:
    # hit@1 .738, answer_hit .619, false_abstain .048, abstain_ok .929.
    c2 = score(second_corpus_bot, load_questions(EVAL_DIR / "corpus2.jsonl"))
    assert c2["hit@1"] >= 0.88 and c2["answer_hit"] >= 0.85 and c2["false_abstain"] <= 0.06
    held = score(second_corpus_bot, load_questions(EVAL_DIR / "corpus2_holdout.jsonl"))
    assert held["hit@1"] >= 0.7 and held["answer_hit"] >= 0.6
    # .071 since session 10 (3 of 42): hz4, a vague Chinese question answered before with a
    # sentence that did not answer it, is refused since the site bar left its passage.
    assert held["false_abstain"] <= 0.075 and held["abstain_ok"] >= 0.9
    near = score(second_corpus_bot, load_questions(EVAL_DIR / "corpus2_near_misses.jsonl"))
    assert near["abstain_ok"] >= 0.75


@pytest.fixture(scope="module")
def third_corpus_bot(tmp_path_factory, real_encoder):
    return _bot_over("corpus3", tmp_path_factory, real_encoder)


def test_a_third_corpus_written_after_the_rules(third_corpus_bot):
    # Scored once blind (session 8): hit@1 .581, answer_hit .419, false_abstain .256, abstain_ok
    # .933; after the fixes it showed (common names, cross-language either way, "first", a
    # counted thing's other names, web addresses, titled persons): hit@1 .767, hit@5 .907,
    # answer_hit .581, false_abstain .093, abstain_ok .933, retrieval hit@5 1.0.
    c3 = score(third_corpus_bot, load_questions(EVAL_DIR / "corpus3.jsonl"))
    assert c3["retrieval_hit@5"] >= 0.95 and c3["hit@1"] >= 0.78 and c3["hit@5"] >= 0.9
    assert c3["false_abstain"] <= 0.08 and c3["abstain_ok"] >= 0.9 and c3["answer_hit"] >= 0.6


# Corpora written blind, by someone who saw no code: (corpus, floors). At least: hit@1,
# retrieval hit@5, answer_hit, abstain_ok; at most: false_abstain.
# corpus4 (session 9): blind hit@1 .761, answer_hit .587, false_abstain .087, abstain_ok .786;
# after the session's rules (its misses were read, so it is in sample from there): .804, .696,
# .065, .929.
# corpus5 (session 10; two Chinese texts, one HTML page): blind hit@1 .652, retrieval hit@5
# .891, answer_hit .587, false_abstain .152, abstain_ok .722. After the session's general fixes
# (site bars, Chinese breadcrumbs and Markdown images out of the text; full dates; a compound's
# head counted; a year is no count; a Chinese document holds the names an English question
# writes in English): .696, .891, .630, .130, .722.
# corpus6 (session 11; an HTML page, two Chinese texts, bulleted lists): blind hit@1 .804,
# retrieval hit@5 .957, answer_hit .739, false_abstain .087, abstain_ok .667; after the
# session's rules (lists run into one sentence, Chinese lists, places, negations, sums): see
# eval/README.md.
BLIND_CORPORA = {
    "corpus4": {"hit@1": 0.78, "retrieval_hit@5": 0.93, "answer_hit": 0.67, "abstain_ok": 0.9,
                "false_abstain": 0.07},
    "corpus5": {"hit@1": 0.65, "retrieval_hit@5": 0.87, "answer_hit": 0.58, "abstain_ok": 0.7,
                "false_abstain": 0.16},
    "corpus6": {"hit@1": 0.9, "retrieval_hit@5": 0.95, "answer_hit": 0.9, "abstain_ok": 0.85,
                "false_abstain": 0.05},
    # Scored blind at .571 hit@1, .548 answer_hit; these floors are session 12's end.
    "corpus7": {"hit@1": 0.58, "retrieval_hit@5": 0.88, "answer_hit": 0.55, "abstain_ok": 0.8,
                "false_abstain": 0.12},
}


@pytest.mark.parametrize("corpus", sorted(BLIND_CORPORA))
def test_a_corpus_written_blind(corpus, tmp_path_factory, real_encoder):
    floors = BLIND_CORPORA[corpus]
    got = score(_bot_over(corpus, tmp_path_factory, real_encoder),
                load_questions(EVAL_DIR / f"{corpus}.jsonl"))
    for key, bound in floors.items():
        ok = got[key] <= bound if key == "false_abstain" else got[key] >= bound
        assert ok, (corpus, key, got[key], bound)
