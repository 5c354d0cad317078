"""In every answered reply of every question set, the first marker is [1] and every citation is
cited, in the order the answer first cites it; refusals have no citations (fake encoder)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.index.build import build_index
from bot.qa.engine import Bot
from bot.qa.evaluation import citation_problems, load_questions

from ..fakes import FakeEncoder

REPO = Path(__file__).resolve().parents[2]
SETS = {
    REPO / "corpus": [REPO.parent / "shared" / "eval" / "dev.jsonl",
                      REPO.parent / "shared" / "eval" / "dev_zh.jsonl",
                      *(REPO / "eval" / f for f in ("generalization.jsonl", "calibration.jsonl",
                                                    "near_misses.jsonl", "near_misses_2.jsonl",
                                                    "zh_hard.jsonl"))],
    REPO / "eval" / "corpus2": [REPO / "eval" / "corpus2.jsonl",
                                REPO / "eval" / "corpus2_near_misses.jsonl"],
}


@pytest.mark.parametrize("corpus", list(SETS), ids=lambda p: p.name)
@pytest.mark.parametrize("threshold", [0.0, None], ids=["answer-all", "calibrated"])
def test_every_reply_cites_honestly(tmp_path, monkeypatch, corpus, threshold):
    encoder = FakeEncoder()
    build_index(corpus, tmp_path / "index", encoder)
    bot = Bot.open(tmp_path / "index", encoder)
    if threshold is not None:
        # Every question answered: every composed answer is checked, not only those the
        # fake encoder's scores happen to let through.
        monkeypatch.setitem(bot.model, "threshold", threshold)
    problems, answered = {}, 0
    for path in SETS[corpus]:
        if not path.exists():
            continue
        for row in load_questions(path):
            reply = bot.ask(row["question"], row["history"])
            answered += reply["answered"]
            if found := citation_problems(reply):
                problems[f"{path.name}:{row['id']}"] = found
    assert not problems
    if threshold is not None:
        assert answered > 50
