"""POST /api/feedback (a thumbs up or down on an answer, with an optional comment), and keeping
the questions the bot could not answer, both in the feedback database of the instance folder."""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from flask import Blueprint, Flask, current_app, g, jsonify

from ..feedback_store import FILE_NAME, FeedbackStore
from .validation import json_body, parse_feedback

bp = Blueprint("feedback", __name__, url_prefix="/api")
KEY = "accord_feedback"
log = logging.getLogger("accord")


def store() -> FeedbackStore:
    return current_app.extensions[KEY]


def _index_version() -> str | None:
    bot = getattr(current_app.extensions.get("accord"), "bot", None)
    return bot.index.manifest.get("version") if bot is not None else None


def record_unanswered(question: str, query: str) -> None:
    """Keep a question the documents did not answer; a failed write never fails the answer."""
    try:
        store().record_unanswered(question, query, _index_version())
    except sqlite3.Error as exc:
        log.error("could not record an unanswered question: %s", exc)


@bp.post("/feedback")
def feedback():
    item = parse_feedback(json_body())
    store().record_feedback(index_version=_index_version(), **item)
    g.feedback_rating = item["rating"]
    return jsonify({"status": "recorded", "answer_id": item["answer_id"],
                    "rating": item["rating"]})


def db_path(app: Flask) -> Path:
    configured = app.config.get("FEEDBACK_DB")
    return Path(configured) if configured else Path(app.instance_path) / FILE_NAME


def init_app(app: Flask) -> FeedbackStore:
    """Create the database now, so an unwritable instance folder stops the start, not a request."""
    app.extensions[KEY] = FeedbackStore(db_path(app), app.config["STORE_QUESTIONS"]).create()
    app.register_blueprint(bp)
    return app.extensions[KEY]
