"""Holding the loaded bot for the web app: built once per process in init_app, never at import."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app

from .encoder import SentenceTransformerEncoder
from .engine import Bot
from .errors import AccordError, IndexUnavailable

log = logging.getLogger("accord")
KEY = "accord"


class BotHolder:
    """The encoder, and the bot over the current index (None while there is no usable index)."""

    def __init__(self, app: Flask) -> None:
        self.index_dir = Path(app.config["INDEX_DIR"])
        self.encoder = app.config.get("ENCODER") or SentenceTransformerEncoder(
            str(app.config["MODEL"]), threads=app.config.get("TORCH_THREADS"))
        self.bot: Bot | None = None
        self.problem = ""
        self.load()

    def load(self) -> None:
        try:
            self.bot = Bot.open(self.index_dir, self.encoder)
            self.problem = ""
        except AccordError as exc:
            self.bot, self.problem = None, str(exc)
            log.error("index unavailable: %s", exc)

    def get(self) -> Bot:
        if self.bot is None:
            raise IndexUnavailable(self.problem or "no index is loaded")
        return self.bot


def init_app(app: Flask) -> None:
    app.extensions[KEY] = BotHolder(app)


def holder() -> BotHolder:
    return current_app.extensions[KEY]
