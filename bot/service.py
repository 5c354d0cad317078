"""Holding the loaded bot for the web app: built once per process in init_app, never at import,
and switched to a new index version between requests when a build publishes one."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask, current_app

from .encoder import SentenceTransformerEncoder
from .engine import Bot
from .errors import AccordError, IndexUnavailable
from .store import CURRENT, MANIFEST, versions_on_disk

log = logging.getLogger("accord")
KEY = "accord"
_NEVER = object()   # no target tried yet: even "no index" must be tried once, to say why


def recover_at_start(index_dir: Path) -> None:
    """Settle what a killed admin change or build left (bot/journal.py), unless a build that
    is running now holds the lock: it settles it itself."""
    from .build import index_lock
    from .errors import BuildLocked
    from .journal import debris

    if not debris(index_dir):
        return
    try:
        with index_lock(index_dir, wait=0):
            pass   # taking the lock is what recovers
    except BuildLocked:
        log.info("a build is running on the index; it settles any interrupted change itself")


class BotHolder:
    """The encoder, and the bot over the current index (None while there is no usable index).

    Each request takes the bot once (`get`) and keeps it to the end, so a request in flight
    finishes on the version it started with while the next ones see the new one."""

    def __init__(self, app: Flask) -> None:
        self.index_dir = Path(app.config["INDEX_DIR"])
        self.encoder = app.config.get("ENCODER") or SentenceTransformerEncoder(
            str(app.config["MODEL"]), threads=app.config.get("TORCH_THREADS"))
        if app.config.get("ADMIN_TOKEN") and hasattr(self.encoder, "model"):
            # Admin changes embed passages with the torch model. Loaded now, not at the first
            # change: on a busy worker that load would take tens of seconds, and under
            # `accord serve` (gunicorn --preload) it happens once, shared by every worker.
            self.encoder.model
        recover_at_start(self.index_dir)
        self.bot: Bot | None = None
        self.problem = ""
        self._seen: object = _NEVER         # the `current` link target last tried
        self._reloading = threading.Lock()
        self.refresh()

    def _target(self) -> str | None:
        try:
            return os.readlink(self.index_dir / CURRENT)
        except OSError:
            return None

    def refresh(self) -> None:
        """Load the version `current` points at if it is not the one tried last (cheap: one
        readlink). A version that fails its checks is refused and the old one kept."""
        target = self._target()
        if target == self._seen:
            return
        if not self._reloading.acquire(blocking=False):
            return  # another thread of this process is loading it; serve the old one meanwhile
        try:
            target = self._target()
            if target == self._seen:
                return
            if target is None:
                raise IndexUnavailable(f"no index in {self.index_dir}: build one with `accord build`")
            bot = Bot.open(self.index_dir, self.encoder, folder=self.index_dir / target)
            self.bot, self.problem = bot, ""
            log.info("serving index version %s", bot.index.version)
        except AccordError as exc:
            self.problem = str(exc)
            if self.bot is not None and not (self.bot.index.folder / MANIFEST).is_file():
                # Still mapped in this process (a forked worker inherits the master's), but
                # pruned from disk: falling back to it would serve a version nobody can see.
                log.error("version %s is no longer on disk", self.bot.index.version)
                self.bot = self._fallback(Path(target).name if target else None)
            if self.bot is None:
                log.error("index unavailable: %s", exc)
            else:
                log.error("new index version refused, still serving %s: %s",
                          self.bot.index.version, exc)
        finally:
            self._seen = target
            self._reloading.release()

    def _fallback(self, refused: str | None) -> Bot | None:
        """The newest version still on disk that passes its checks, other than `refused`."""
        for folder in versions_on_disk(self.index_dir):
            if folder.name == refused:
                continue
            try:
                return Bot.open(self.index_dir, self.encoder, folder=folder)
            except AccordError as exc:
                log.error("version %s refused too: %s", folder.name, exc)
        return None

    def current_version(self) -> str | None:
        """The version `index/current` points at, which may not be the one served."""
        target = self._target()
        return Path(target).name if target else None

    def get(self) -> Bot:
        self.refresh()
        if self.bot is None:
            raise IndexUnavailable(self.problem or "no index is loaded")
        return self.bot


def init_app(app: Flask) -> None:
    app.extensions[KEY] = BotHolder(app)


def holder() -> BotHolder:
    return current_app.extensions[KEY]
