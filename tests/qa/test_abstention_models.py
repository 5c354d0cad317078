"""Each embedding model has its own fitted abstention model: cosines are on its own scale."""
from __future__ import annotations

import logging

from bot.index.build import build_index
from bot.qa.abstention import MODEL_FILE, load_model, model_file
from bot.qa.engine import Bot

from ..fakes import FakeEncoder


def test_the_default_model_and_minilm_each_load_their_own_fit():
    assert model_file("multilingual-e5-small") == MODEL_FILE
    minilm = model_file("all-MiniLM-L6-v2")
    assert minilm != MODEL_FILE and minilm.is_file()
    assert load_model(minilm)["model"] == "all-MiniLM-L6-v2"
    # A different scale: the fits' thresholds and weights differ.
    assert load_model(minilm)["weights"] != load_model()["weights"]
    assert model_file("some/other model").name == "answerability-some_other_model.json"


def test_a_model_without_a_fit_uses_the_default_and_says_so(corpus_dir, tmp_path, caplog):
    class Unfitted(FakeEncoder):
        name = "never-fitted-model"

    build_index(corpus_dir, tmp_path / "index", Unfitted())
    with caplog.at_level(logging.WARNING, logger="accord"):
        bot = Bot.open(tmp_path / "index", Unfitted())
    assert bot.model == load_model()
    assert "no abstention model fitted for never-fitted-model" in caplog.text
