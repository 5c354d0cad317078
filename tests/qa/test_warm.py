"""A loaded index is warmed: the first questions after a start do not pay for the passages' words."""
from __future__ import annotations

from bot.text import words
from bot.qa.engine import Bot
from bot.service import holder


def _sentences(bot: Bot) -> set[str]:
    return {s for i in range(len(bot.index.passages)) for s in bot.index.passages[i].sentence_texts()}


def _tokenised() -> set:
    return set(words._tokens.cache._data.keys())


def test_the_served_bot_has_every_sentences_words_before_the_first_question(app, client):
    with app.app_context():
        bot = holder().get()
    assert _sentences(bot) and _sentences(bot) <= _tokenised()
    before = _tokenised()
    assert client.post("/api/ask", json={"question": "When did the mayor visit?"}).status_code == 200
    # What the first question tokenised is its own words only, no passage's sentence.
    assert not (_tokenised() - before) & _sentences(bot)


def test_warming_stops_at_its_deadline(app):
    with app.app_context():
        bot = holder().get()
    words._tokens.cache_clear()
    assert bot.warm(0) == 0
    assert not _sentences(bot) & _tokenised()
    assert bot.warm() == len(bot.index.passages)
