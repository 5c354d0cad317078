"""POST /api/feedback (a thumbs up or down on an answer, with an optional comment), and keeping
the questions the bot could not answer, both in the feedback database of the instance folder."""
from __future__ import annotations

import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Mapping

from flask import Blueprint, Flask, current_app, g, jsonify

from ..feedback.store import ANSWER_TTL, FILE_NAME, FeedbackStore, FeedbackStoreError
from .contract import FeedbackReply
from .errors import ApiError
from .validation import json_body, parse_feedback

bp = Blueprint("feedback", __name__, url_prefix="/api")
KEY = "accord_feedback"
log = logging.getLogger("accord")
# A worker's writer puts an issued answer in SQLite within milliseconds; far less than a person
# takes to rate it, enough for a script that rates at once through another worker.
RETRY_WAIT = 0.2


def store() -> FeedbackStore:
    return current_app.extensions[KEY]


def _index_version() -> str | None:
    bot = getattr(current_app.extensions.get("accord"), "bot", None)
    return bot.index.manifest.get("version") if bot is not None else None


def record_unanswered(question: str, query: str) -> None:
    """Keep a question the documents did not answer; a failed write never fails the answer."""
    try:
        store().record_unanswered(question, query, _index_version())
    except (sqlite3.Error, FeedbackStoreError) as exc:
        log.error("could not record an unanswered question: %s", exc)


def issue_answer_id(question: str, reply: Mapping[str, Any]) -> str:
    """A new answer_id for an /api/ask reply, with what was answered kept server-side: feedback
    is accepted only for ids issued here, and records this, never what the client sends.
    Random, so nobody can rate another's answer; a failed write never fails the answer. The row
    is written by this process's writer thread, off the request path (feedback.store)."""
    answer_id = uuid.uuid4().hex
    try:
        store().issue_answer(answer_id, question, reply.get("answer"), reply.get("answered"),
                              [c["passage_id"] for c in reply.get("citations", ())],
                              _index_version())
    except (sqlite3.Error, FeedbackStoreError) as exc:
        log.error("could not keep an issued answer: %s", exc)
    return answer_id


@bp.post("/feedback")
def feedback():
    item = parse_feedback(json_body())
    # Another worker may have given this answer a moment ago and not written it yet: one more
    # look after RETRY_WAIT before the 404 (this process's own queue is written first).
    issued = store().issued(item["answer_id"], retry_after=RETRY_WAIT)
    if issued is None:
        # 404: the request is well formed, the answer it names is not (or no longer) here.
        raise ApiError(404, f"No answer with this answer_id was given by this server in the "
                            f"last {ANSWER_TTL.days} days: send the answer_id of an /api/ask "
                            "reply.")
    # question, answer, answered and passage_ids the client may send are ignored: the server's
    # own record of the answer is what the report shows.
    store().record_feedback(issued.answer_id, item["rating"], item["comment"],
                            question=issued.question, answer=issued.answer,
                            answered=issued.answered, passage_ids=issued.passage_ids,
                            index_version=issued.index_version)
    g.feedback_rating = item["rating"]
    return jsonify(FeedbackReply(status="recorded", answer_id=item["answer_id"],
                                 rating=item["rating"]).model_dump())


def db_path(app: Flask) -> Path:
    configured = app.config.get("FEEDBACK_DB")
    return Path(configured) if configured else Path(app.instance_path) / FILE_NAME


def init_app(app: Flask) -> FeedbackStore:
    """Create the database now, so an unwritable instance folder stops the start, not a request.
    PostgreSQL (bot/feedback/sql_store.py) when DATABASE_URL says so, for replicas that share it."""
    from ..feedback.sql_store import configured

    shared = configured(app.config["STORE_QUESTIONS"], app.config["FEEDBACK_MAX_BYTES"],
                        app.config.get("DATABASE_URL"))
    app.extensions[KEY] = (shared or FeedbackStore(db_path(app), app.config["STORE_QUESTIONS"],
                                                   app.config["FEEDBACK_MAX_BYTES"])).create()
    app.register_blueprint(bp)
    return app.extensions[KEY]
