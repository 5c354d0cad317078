"""Checking /api/ask and /api/feedback requests against the contract, with messages a person
can act on; text is normalised here, before anything searches or stores it."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import current_app, request

from ..qa.followup import CONTEXT_TURNS
from ..qa.retrieval import FILTER_KEYS
from ..corpus.textnorm import normalize_text
from .errors import ApiError

MAX_QUESTION = 1000
MAX_TURNS = 50
MAX_TURN_CHARS = 4000
# The latest turns, user and bot, a follow-up is resolved with; earlier ones are checked, not read.
HISTORY_READ = 2 * CONTEXT_TURNS
MAX_FILTER_CHARS = 4000   # no source or id is near this; it bounds the work on a filter value
MAX_K = 20
ROLES = ("user", "bot")
# At least one character that normalising keeps (not space, control or invisible format): the
# OpenAPI document states it as a pattern, so clients and fuzzers know "   " is no question.
VISIBLE = ("[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890"
           "\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff"
           "\\ufff9-\\ufffb]")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")   # fromisoformat alone also takes 20230511, 2023-W19
RATINGS = ("up", "down")
ANSWER_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_COMMENT = 1000
MAX_ANSWER = 4000
MAX_PASSAGE_IDS = MAX_K
MAX_PASSAGE_ID = 200


def _fail(message: str) -> ApiError:
    return ApiError(400, message)


def json_body() -> object:
    """The parsed JSON body; 415 for another content type, 400 for JSON that does not parse."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.")
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # A chunked body is cut at the limit without a word (werkzeug): one more byte tells
        # whether it went on, and reading it past the limit raises the 413.
        request.stream.read(1)
    try:
        # The app's provider, like request.get_json: nesting too deep is its 400 (json_provider).
        return current_app.json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}.") from None


def parse_ask(body: Any) -> dict[str, Any]:
    """question, history (the latest HISTORY_READ user and bot turns, as dicts), k and
    filters, checked; every text normalised and cut to its limit after normalising."""
    if not isinstance(body, dict):
        raise _fail("The body must be a JSON object with a 'question'.")
    unknown = set(body) - {"question", "history", "k", "filters"}
    if unknown:
        raise _fail(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    question = body.get("question")
    if not isinstance(question, str):
        raise _fail("'question' is required and must be a string.")
    # The limit counts what the client sent, trimmed (the contract's rule); NFKC may then
    # lengthen it (U+FDFA is 18 characters), and the limit holds again after it: the text
    # searched, and the work of normalising it, stay bounded.
    if len(question.strip()) > MAX_QUESTION:
        raise _fail(f"'question' is {len(question.strip())} characters; the limit is "
                    f"{MAX_QUESTION}.")
    question = normalize_text(question, limit=MAX_QUESTION)
    if not question:
        raise _fail("'question' is empty.")

    history = body.get("history", [])
    if history is None:
        history = []
    if not isinstance(history, list):
        raise _fail("'history' must be a list of turns {role, text}.")
    if len(history) > MAX_TURNS:
        raise _fail(f"'history' has {len(history)} turns; the limit is {MAX_TURNS}.")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            raise _fail(f"history[{i}] must be an object with a string 'text'.")
        role = turn.get("role", "user")
        if role not in ROLES:
            raise _fail(f"history[{i}].role must be 'user' or 'bot'.")
        if len(turn["text"]) > MAX_TURN_CHARS:
            raise _fail(f"history[{i}].text is over {MAX_TURN_CHARS} characters.")
        turns.append({"role": role, "text": turn["text"]})
    turns = [{"role": t["role"], "text": normalize_text(t["text"], limit=MAX_TURN_CHARS)}
             for t in turns[-HISTORY_READ:]]

    k = body.get("k", 5)
    if isinstance(k, float) and k.is_integer():
        k = int(k)   # JSON Schema counts 5.0 as an integer, and so does the contract's document
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise _fail(f"'k' must be a whole number from 1 to {MAX_K}.")

    filters = body.get("filters")
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise _fail("'filters' must be an object.")
    bad = set(filters) - set(FILTER_KEYS)
    if bad:
        raise _fail(f"Unknown filter(s): {', '.join(sorted(bad))}; use {', '.join(FILTER_KEYS)}.")
    clean_filters = {}
    for key, value in filters.items():
        value = normalize_text(value, limit=MAX_FILTER_CHARS) if isinstance(value, str) else ""
        if not value:
            raise _fail(f"filters.{key} must be a non-empty string.")
        if key.startswith("date_"):
            try:
                if not DATE.fullmatch(value):
                    raise ValueError
                dt.date.fromisoformat(value)
            except ValueError:
                raise _fail(f"filters.{key} must be a date like 2023-05-11.") from None
        clean_filters[key] = value
    return {"question": question, "history": turns, "k": k, "filters": clean_filters}


def _optional_text(body: dict, key: str, limit: int, keep_newlines: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"'{key}' must be a string.")
    if len(value) > limit:
        raise _fail(f"'{key}' is {len(value)} characters; the limit is {limit}.")
    return normalize_text(value, keep_newlines=keep_newlines, limit=limit) or None


def parse_feedback(body: Any) -> dict[str, Any]:
    """answer_id, rating and the optional comment and context of a thumbs up or down, checked."""
    if not isinstance(body, dict):
        raise _fail("The body must be a JSON object with 'answer_id' and 'rating'.")
    known = {"answer_id", "rating", "comment", "question", "answer", "answered", "passage_ids"}
    unknown = set(body) - known
    if unknown:
        raise _fail(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    answer_id = body.get("answer_id")
    if not isinstance(answer_id, str) or not ANSWER_ID.fullmatch(answer_id):
        raise _fail("'answer_id' is required: the answer_id of the /api/ask reply "
                    "(32 hexadecimal digits).")
    rating = body.get("rating")
    if rating not in RATINGS:
        raise _fail("'rating' is required and must be 'up' or 'down'.")
    answered = body.get("answered")
    if answered is not None and not isinstance(answered, bool):
        raise _fail("'answered' must be true or false.")
    passage_ids = body.get("passage_ids", [])
    if passage_ids is None:
        passage_ids = []
    if not isinstance(passage_ids, list) or len(passage_ids) > MAX_PASSAGE_IDS or not all(
            isinstance(p, str) and 0 < len(p) <= MAX_PASSAGE_ID for p in passage_ids):
        raise _fail(f"'passage_ids' must be a list of at most {MAX_PASSAGE_IDS} passage ids.")
    return {"answer_id": answer_id, "rating": rating,
            "comment": _optional_text(body, "comment", MAX_COMMENT, keep_newlines=True),
            "question": _optional_text(body, "question", MAX_QUESTION),
            "answer": _optional_text(body, "answer", MAX_ANSWER),
            "answered": answered,
            "passage_ids": [q for q in (normalize_text(p, limit=MAX_PASSAGE_ID)
                                        for p in passage_ids) if q]}
