"""Holding the loaded bot for the web app: built once per process in init_app, never at import,
and switched to a new index version between requests when a build publishes one."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from .text import chinese
from .embedding.encoder import SentenceTransformerEncoder
from .qa.engine import Bot
from .errors import AccordError, IndexUnavailable
from .index.versions import CURRENT, MANIFEST, versions_on_disk
from .settings import Settings

log = logging.getLogger("accord")
KEY = "accord"
SETTINGS_KEY = "accord.settings"   # app.extensions: the app's Settings (bot/settings.py)
_NEVER = object()   # no target tried yet: even "no index" must be tried once, to say why


CHECK_SECONDS = 2.0   # how often a worker compares the files it serves with the disk


def _signature(folder: Path, manifest: dict) -> tuple:
    """Size, mtime and inode of a version's files: what changes when one is edited in place."""
    out = []
    for name in (MANIFEST, *manifest.get("files", {})):
        try:
            st = (folder / name).stat()
        except OSError:
            out.append((name, None))
            continue
        out.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def settings_of(app: Flask) -> Settings:
    """The settings object create_app built for this app (bot/__init__.py)."""
    return app.extensions[SETTINGS_KEY]


def recover_at_start(index_dir: Path) -> None:
    """Settle what a killed admin change or build left (bot/index/journal.py), unless a build that
    is running now holds the lock: it settles it itself."""
    from .index.build import index_lock
    from .errors import BuildLocked
    from .index.journal import debris

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
        # The app's settings, handed to the encoder, every bot this holder builds and the
        # admin changes' builds.
        self.settings = settings_of(app)
        self.encoder = app.config.get("ENCODER") or SentenceTransformerEncoder(
            str(app.config["MODEL"]), threads=app.config.get("TORCH_THREADS"), settings=self.settings)
        if app.config.get("ADMIN_TOKEN") and hasattr(self.encoder, "model"):
            # Admin changes embed passages with the torch model. Loaded now, not at the first
            # change: on a busy worker that load would take tens of seconds, and under
            # `accord serve` (gunicorn --preload) it happens once, shared by every worker.
            self.encoder.model
        recover_at_start(self.index_dir)
        chinese.warm_up()
        self.bot: Bot | None = None
        self.problem = ""
        self._seen: object = _NEVER         # the `current` link target last tried
        self._reloading = threading.Lock()
        self._signature: tuple = (None, ())  # the bot, and size, mtime, inode of its files
        self._checked = 0.0                 # when they were last compared with the disk
        self.puller = None                  # a replica's pull of the shared index
        if app.config.get("SHARED_INDEX"):
            from .index.shared_store import Puller
            self.puller = Puller(app.config["SHARED_INDEX"], self.index_dir,
                                 app.config.get("SHARED_POLL_SECONDS") or 5)
        self.refresh()

    def _target(self) -> str | None:
        try:
            return os.readlink(self.index_dir / CURRENT)
        except OSError:
            return None

    def _intact(self) -> bool:
        """Whether the served version is still on disk as it was loaded."""
        bot, (loaded, signature) = self.bot, self._signature
        if bot is not loaded:
            return bot is not None   # being switched by another thread right now
        return _signature(bot.index.folder, bot.index.manifest) == signature

    def refresh(self) -> None:
        """Load the version `current` points at if it is not the one tried last (cheap: one
        readlink). A version that fails its checks is refused and the old one kept while it
        is still on disk as loaded; else the newest other version on disk that passes.

        Every CHECK_SECONDS the served files are also compared with the disk (a stat each):
        files changed in place make the version be checked again, so every worker refuses
        an edited version instead of one serving the edit and another refusing it."""
        if self.puller is not None:
            self.puller.ensure_running()   # started here, in the worker: a thread does not fork
        target = self._target()
        now = time.monotonic()
        if self.bot is not None and now - self._checked >= CHECK_SECONDS:
            self._checked = now
            if not self._intact():
                log.error("files of index version %s changed on disk; checking it again",
                          self.bot.index.version)
                self._seen = _NEVER
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
            self._serve(Bot.open(self.index_dir, self.encoder, folder=self.index_dir / target,
                                 settings=self.settings))
            self.problem = ""
        except AccordError as exc:
            self.problem = str(exc)
            if self.bot is not None and not self._intact():
                # Still mapped in this process (a forked worker inherits the master's), but
                # pruned or changed on disk: serving it would serve what nobody can check.
                log.error("version %s is no longer on disk as it was loaded",
                          self.bot.index.version)
                fallback = self._fallback(Path(target).name if target else None)
                if fallback:
                    self._serve(fallback)
                else:
                    self.bot = None
            if self.bot is None:
                log.error("index unavailable: %s", exc)
            else:
                log.error("new index version refused, still serving %s: %s",
                          self.bot.index.version, exc)
        finally:
            self._seen = target
            self._reloading.release()

    def _serve(self, bot: Bot) -> None:
        # Warmed before it serves: under `accord serve` (--preload) the first load is in the
        # master, so every worker starts with the passages' words computed.
        bot.warm()
        self._signature = (bot, _signature(bot.index.folder, bot.index.manifest))
        self.bot = bot
        self._checked = time.monotonic()
        log.info("serving index version %s", bot.index.version)

    def _fallback(self, refused: str | None) -> Bot | None:
        """The newest version still on disk that passes its checks, other than `refused`."""
        for folder in versions_on_disk(self.index_dir):
            if folder.name == refused:
                continue
            try:
                return Bot.open(self.index_dir, self.encoder, folder=folder, settings=self.settings)
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
