"""The pages: the full-page chat at / and the embeddable widget at /widget.js."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

from ..service import holder
from .errors import without_paths
from .headers import PAGE_CSP

bp = Blueprint("pages", __name__)

TITLE = "Accord: ask the cooperation agreements"
GREETING = ("Ask a question about Hong Kong's cooperation with Chongqing and Shanghai. "
            "Answers are quoted from the documents, with numbered sources.")
EXAMPLES = (
    "What is Hong Kong's rank among Chongqing's trading partners?",
    "What did John Lee say about Chongqing?",
    "Where did Gong Zheng attend the Shanghai Global Promotion Conference?",
)
WIDGET_PARTS = ("chat.js", "widget-shell.js")
WIDGET_STYLES = ("chat.css", "widget.css")
WIDGET_MAX_AGE = 300


@bp.get("/")
def index():
    h = holder()
    h.refresh()   # the list shown is the version served now, not the one this worker loaded first
    bot = h.bot
    documents = bot.index.manifest["corpus"]["documents"] if bot else []
    problem = without_paths(h.problem or "no index is loaded") if bot is None else ""
    html = render_template("index.html", title=TITLE, greeting=GREETING, examples=list(EXAMPLES),
                           documents=documents, problem=problem)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def build_widget(static: Path) -> str:
    """One self-contained script: the chat component, the shell and their CSS in one closure."""
    css = "\n".join((static / name).read_text(encoding="utf-8") for name in WIDGET_STYLES)
    parts = "\n".join((static / name).read_text(encoding="utf-8") for name in WIDGET_PARTS)
    # json.dumps makes a valid JS string literal; "</" is escaped in case someone inlines it.
    css_literal = json.dumps(css).replace("</", "<\\/")
    return ("/* Accord chat widget: embed with <script src=\".../widget.js\" async "
            "data-title=\"...\"></script> */\n"
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
