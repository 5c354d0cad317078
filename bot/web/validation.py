"""Checking an /api/ask request against the contract, with messages a person can act on."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..retrieval import FILTER_KEYS
from .errors import ApiError

MAX_QUESTION = 1000
MAX_TURNS = 50
MAX_TURN_CHARS = 4000
MAX_K = 20
ROLES = ("user", "bot")


def _fail(message: str) -> ApiError:
    return ApiError(400, message)


def parse_ask(body: Any) -> dict[str, Any]:
    """question, history (user and bot turns as dicts), k and filters, checked."""
    if not isinstance(body, dict):
        raise _fail("The body must be a JSON object with a 'question'.")
    unknown = set(body) - {"question", "history", "k", "filters"}
    if unknown:
        raise _fail(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    question = body.get("question")
    if not isinstance(question, str):
        raise _fail("'question' is required and must be a string.")
    question = question.strip()
    if not question:
        raise _fail("'question' is empty.")
    if len(question) > MAX_QUESTION:
        raise _fail(f"'question' is {len(question)} characters; the limit is {MAX_QUESTION}.")

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

    k = body.get("k", 5)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise _fail(f"'k' must be a whole number from 1 to {MAX_K}.")

    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise _fail("'filters' must be an object.")
    bad = set(filters) - set(FILTER_KEYS)
    if bad:
        raise _fail(f"Unknown filter(s): {', '.join(sorted(bad))}; use {', '.join(FILTER_KEYS)}.")
    for key, value in filters.items():
        if not isinstance(value, str) or not value.strip():
            raise _fail(f"filters.{key} must be a non-empty string.")
        if key.startswith("date_"):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise _fail(f"filters.{key} must be a date like 2023-05-11.") from None
    return {"question": question, "history": turns, "k": k, "filters": filters}
