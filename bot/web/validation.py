"""Checking request bodies (/api/ask, /api/feedback and the admin bodies) with the contract's
models (contract.py), in messages a person can act on; text is normalised here, before anything
searches or stores it."""
from __future__ import annotations

from typing import Any, Callable

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..text.normalize import normalize_text
from ..qa.retrieval import FILTER_KEYS
from .contract import (HISTORY_READ, MAX_DELETE_IDS, MAX_K, MAX_PASSAGE_ID, MAX_PASSAGE_IDS,
                       MAX_TURN_CHARS, MAX_TURNS, AddDocumentsRequest, AskRequest,
                       DeleteDocumentsRequest, FeedbackRequest, RebuildRequest)
from .errors import ApiError

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


def _unknown(errors: list[ErrorDetails], depth: int) -> list[str]:
    return sorted(str(e["loc"][-1]) for e in errors
                  if e["type"] == "extra_forbidden" and len(e["loc"]) == depth)


def _text_message(name: str, error: ErrorDetails, trimmed: bool = False) -> str:
    if error["type"] == "string_too_long":
        length = len(error["input"].strip() if trimmed else error["input"])
        return f"'{name}' is {length} characters; the limit is {error['ctx']['max_length']}."
    return f"'{name}' must be a string."


def _ask_rank(error: ErrorDetails, body: dict) -> tuple:
    loc = error["loc"]
    if not loc:
        return (0,)
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        return (1,)
    field = ["question", "history", "k", "filters"].index(loc[0]) + 2
    if len(loc) == 1:
        return (field,)
    if loc[0] == "history":   # each turn: an object with a string text, its role, its length
        part = {"role": 1}.get(loc[2], 2 if error["type"] == "string_too_long" else 0) \
            if len(loc) > 2 else 0
        return (field, 1, loc[1], part)
    if error["type"] == "extra_forbidden":
        return (field, 1)
    return (field, 2, list(body["filters"]).index(loc[1]))   # filters in the order sent


def _ask_message(error: ErrorDetails, errors: list[ErrorDetails]) -> str:
    loc, kind = error["loc"], error["type"]
    if not loc:
        return "The body must be a JSON object with a 'question'."
    if kind == "extra_forbidden" and len(loc) == 1:
        return f"Unknown field(s): {', '.join(_unknown(errors, 1))}."
    if loc == ("question",):
        if kind == "string_too_long":
            return _text_message("question", error, trimmed=True)
        if kind == "string_too_short":
            return "'question' is empty."
        return "'question' is required and must be a string."
    if loc == ("history",):
        if kind == "too_long":
            return f"'history' has {error['ctx']['actual_length']} turns; the limit is {MAX_TURNS}."
        return "'history' must be a list of turns {role, text}."
    if loc[0] == "history":
        i = loc[1]
        if loc[2:] == ("role",):
            return f"history[{i}].role must be 'user' or 'bot'."
        if kind == "string_too_long":
            return f"history[{i}].text is over {MAX_TURN_CHARS} characters."
        return f"history[{i}] must be an object with a string 'text'."
    if loc == ("k",):
        return f"'k' must be a whole number from 1 to {MAX_K}."
    if loc == ("filters",):
        return "'filters' must be an object."
    if kind == "extra_forbidden":
        return (f"Unknown filter(s): {', '.join(_unknown(errors, 2))}; "
                f"use {', '.join(FILTER_KEYS)}.")
    if kind == "date_format":
        return f"filters.{loc[1]} must be a date like 2023-05-11."
    return f"filters.{loc[1]} must be a non-empty string."


FEEDBACK_ORDER = ("answer_id", "rating", "answered", "passage_ids", "comment", "question", "answer")


def _feedback_rank(error: ErrorDetails, body: dict) -> tuple:
    loc = error["loc"]
    if not loc:
        return (0,)
    if error["type"] == "extra_forbidden":
        return (1,)
    return (2, FEEDBACK_ORDER.index(loc[0]))


def _feedback_message(error: ErrorDetails, errors: list[ErrorDetails]) -> str:
    loc = error["loc"]
    if not loc:
        return "The body must be a JSON object with 'answer_id' and 'rating'."
    if error["type"] == "extra_forbidden":
        return f"Unknown field(s): {', '.join(_unknown(errors, 1))}."
    return {
        "answer_id": "'answer_id' is required: the answer_id of the /api/ask reply "
                     "(32 hexadecimal digits).",
        "rating": "'rating' is required and must be 'up' or 'down'.",
        "answered": "'answered' must be true or false.",
        "passage_ids": f"'passage_ids' must be a list of at most {MAX_PASSAGE_IDS} passage ids.",
    }.get(loc[0]) or _text_message(str(loc[0]), error)


def _validate(model: type[BaseModel], body: Any, rank: Callable[[ErrorDetails, dict], tuple],
              message: Callable[[ErrorDetails, list[ErrorDetails]], str]) -> Any:
    """The model of the body, or a 400 with the message of the first rule it breaks in the
    order a person reads the request: the body, unknown fields, then each field in turn."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = min(errors, key=lambda e: rank(e, body))
        raise ApiError(400, message(first, errors)) from None


def parse_ask(body: Any) -> dict[str, Any]:
    """question, history (the latest HISTORY_READ user and bot turns, as dicts), k and
    filters, checked; every text normalised and cut to its limit after normalising."""
    ask: AskRequest = _validate(AskRequest, body, _ask_rank, _ask_message)
    # Only the turns read are normalised; the model checked them all.
    turns = [{"role": t.role, "text": normalize_text(t.text, limit=MAX_TURN_CHARS)}
             for t in (ask.history or [])[-HISTORY_READ:]]
    filters = ask.filters.model_dump(exclude_unset=True) if ask.filters else {}
    return {"question": ask.question, "history": turns, "k": ask.k, "filters": filters}


def parse_feedback(body: Any) -> dict[str, Any]:
    """answer_id, rating and the optional comment and context of a thumbs up or down, checked."""
    item: FeedbackRequest = _validate(FeedbackRequest, body, _feedback_rank, _feedback_message)
    return {"answer_id": item.answer_id, "rating": item.rating,
            "comment": item.comment or None, "question": item.question or None,
            "answer": item.answer or None, "answered": item.answered,
            "passage_ids": [q for q in (normalize_text(p, limit=MAX_PASSAGE_ID)
                                        for p in item.passage_ids or []) if q]}


# The admin bodies: the shape is checked first, then unknown fields (documents) or the count
# (ids); each document and id is checked by its reader (admin.py), in the order sent.

def _add_rank(error: ErrorDetails, body: dict) -> tuple:
    return (1,) if error["type"] == "extra_forbidden" else (0,)


def _add_message(error: ErrorDetails, errors: list[ErrorDetails]) -> str:
    if error["type"] == "extra_forbidden":
        return f"Unknown field(s): {', '.join(_unknown(errors, 1))}."
    return ("The body must be {\"documents\": [{\"id\", \"text\", \"title\", \"source\", "
            "\"date\"}, ...]} with at least one document.")


def _delete_rank(error: ErrorDetails, body: dict) -> tuple:
    return (1,) if error["type"] == "too_long" else (0,)


def _delete_message(error: ErrorDetails, errors: list[ErrorDetails]) -> str:
    if error["type"] == "too_long":
        return (f"At most {MAX_DELETE_IDS} ids in one request; "
                f"{error['ctx']['actual_length']} were sent.")
    return "The body must be {\"ids\": [\"doc-id\", ...]} with at least one id."


def parse_add_documents(body: Any) -> list[Any]:
    """The documents of POST /api/documents {"documents": [...]}, each as sent."""
    return _validate(AddDocumentsRequest, body, _add_rank, _add_message).documents


def parse_delete_ids(body: Any) -> list[Any]:
    """The ids of DELETE /api/documents {"ids": [...]}, each as sent."""
    return _validate(DeleteDocumentsRequest, body, _delete_rank, _delete_message).ids


def parse_rebuild(body: Any) -> bool:
    """`full` of the optional body of POST /api/index/rebuild."""
    return _validate(RebuildRequest, body, lambda error, body: (0,),
                     lambda error, errors: "The optional body is {\"full\": true|false}.").full
