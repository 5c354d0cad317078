"""The pages: the full-page chat at /, the embeddable widget at /widget.js, and its /api/config."""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ..service import holder
from . import contract
from .cors import origin_pattern
from .headers import PAGE_CSP
from .page_config import LANGUAGES, page_texts

bp = Blueprint("pages", __name__)
log = logging.getLogger("accord.web")

WIDGET_PARTS = ("chat.js", "widget-shell.js")
WIDGET_STYLES = ("chat.css", "widget.css")
WIDGET_MAX_AGE = 300
CONFIG_MAX_AGE = 60
MAX_LOGGED_ORIGINS = 100   # a refused origin is logged once; this bounds the memory of that
_refused: set[str] = set()

# The page's own words (the chat's are in chat.js).
PAGE_STRINGS = {
    "en": {"documents": "The documents", "not_ready": "The bot is not ready yet: its documents "
           "are still being prepared. Try again in a few minutes.",
           "noscript": "The chat needs JavaScript. The API is described at"},
    "zh-Hant": {"documents": "文件列表", "not_ready": "機械人尚未準備好：文件仍在準備中，請稍後再試。",
                "noscript": "對話需要 JavaScript。API 說明見"},
    "zh-Hans": {"documents": "文件列表", "not_ready": "机器人尚未准备好：文件仍在准备中，请稍后再试。",
                "noscript": "对话需要 JavaScript。API 说明见"},
}


def choose_language(asked: str | None) -> str:
    """en, zh-Hant or zh-Hans: ?lang= when given, else the browser's Accept-Language."""
    tags = [asked] if asked else [tag for tag, _ in request.accept_languages]
    for tag in tags:
        tag = (tag or "").lower()
        if tag == "zh" or tag.startswith("zh-"):
            return "zh-Hant" if any(x in tag for x in ("hant", "-tw", "-hk", "-mo")) else "zh-Hans"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return "en"


def chat_config(documents: list[dict], lang: str | None = None) -> dict[str, Any]:
    """What both surfaces need: the corpus's words (each language for the widget) and limits."""
    corpus = Path(current_app.config["CORPUS_DIR"])
    out: dict[str, Any] = {"limits": contract.limits(),
                           "stores_questions": bool(current_app.config.get("STORE_QUESTIONS"))}
    if lang:
        out.update(page_texts(corpus, documents, lang), lang=lang)
    else:
        out.update(page_texts(corpus, documents, "en"))
        out["translations"] = {code: page_texts(corpus, documents, code) for code in LANGUAGES[1:]}
    return out


def _documents() -> tuple[list[dict], bool]:
    h = holder()
    h.refresh()   # the list shown is the version served now, not the one this worker loaded first
    bot = h.bot
    if bot is None:
        # The operator's detail is in the log and /api/health; a visitor only needs "not yet".
        return [], False
    return list(bot.index.manifest["corpus"]["documents"]), True


@bp.get("/")
def index():
    documents, ready = _documents()
    lang = choose_language(request.args.get("lang"))
    config = chat_config(documents, lang)
    theme = request.args.get("theme")
    html = render_template("index.html", lang=lang, text=PAGE_STRINGS[lang], config=config,
                           documents=documents, ready=ready,
                           theme=theme if theme in ("light", "dark") else "auto")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Vary"] = "Accept-Language"
    return response


def _same_origin(origin: str) -> bool:
    return origin.rstrip("/").lower() == request.host_url.rstrip("/").lower()


def _log_refused(origin: str) -> None:
    allowed = current_app.config.get("ALLOWED_ORIGINS") or []
    if _same_origin(origin) or any(origin_pattern(o).match(origin) for o in allowed):
        return
    if origin in _refused or len(_refused) >= MAX_LOGGED_ORIGINS:
        return
    _refused.add(origin)
    log.warning("the widget on %s cannot call this bot: that origin is not allowed. To allow it, "
                "add it to ACCORD_ALLOWED_ORIGINS (comma-separated, e.g. %s) and restart",
                origin[:200], origin[:200])


@bp.get("/api/config")
def config():
    """The widget's settings: title, greeting and examples (per language) and the API limits."""
    origin = request.headers.get("Origin")
    if origin:
        _log_refused(origin)
    documents, _ = _documents()
    response = jsonify(chat_config(documents))
    response.headers["Cache-Control"] = f"public, max-age={CONFIG_MAX_AGE}"
    return response


def build_widget(static: Path) -> str:
    """One self-contained script: the chat component, the shell and their CSS in one closure."""
    css = "\n".join((static / name).read_text(encoding="utf-8") for name in WIDGET_STYLES)
    parts = "\n".join((static / name).read_text(encoding="utf-8") for name in WIDGET_PARTS)
    # json.dumps makes a valid JS string literal; "</" is escaped in case someone inlines it.
    css_literal = json.dumps(css).replace("</", "<\\/")
    return ("/* Accord chat widget: embed with <script src=\".../widget.js\" async "
            "data-title=\"...\"></script> (docs/web.md) */\n"
            "(function () {\n\"use strict\";\n"
            f"var ACCORD_CSS = {css_literal};\n{parts}\n}}());\n")


@lru_cache(maxsize=1)
def _cached_widget(static: str) -> str:
    return build_widget(Path(static))


@bp.get("/widget.js")
def widget():
    static = current_app.static_folder or ""
    # Rebuilt on each request while developing, so edits to the parts show at once.
    source = build_widget(Path(static)) if current_app.debug else _cached_widget(static)
    response = Response(source, mimetype="application/javascript")
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE}"
    # Pages that isolate themselves (COEP) may still load the widget from this host.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.add_etag()
    return response.make_conditional(request)
