"""The one JSON error shape, for every 4xx and 5xx the app can produce."""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import AccordError, IndexUnavailable
from .request_log import request_id

log = logging.getLogger("accord")

CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
         429: "rate_limited",
         503: "index_unavailable", 500: "internal"}
MESSAGES = {
    404: "There is nothing at this address; see /openapi.json for the endpoints.",
    405: "This endpoint does not accept that method; see /openapi.json.",
    413: "The request body is too large.",
    415: "Send the body as JSON with 'Content-Type: application/json'.",
}


# An absolute path (or ~/...), up to its last component: the server's folders are nobody's business.
_PATH = re.compile(r"(?<![\w.:/~])(?:~/|/)(?:[^\s/'\"`:;,()]+/)+")


def without_paths(message: str) -> str:
    """The message with each file path cut to its last part ('/srv/idx/faiss.index' -> 'faiss.index')."""
    return _PATH.sub("", message)


class ApiError(Exception):
    """An error reply: its status picks the code, its message tells the person what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_body(status: int, message: str) -> dict[str, Any]:
    """The one error shape, {"error": {"code", "message"}}, its code named by the status."""
    return {"error": {"code": CODES.get(status, "bad_request" if status < 500 else "internal"),
                      "message": message}}


def reply_to(exc: AccordError, *, change: bool = False) -> tuple[int, str]:
    """The status and message of the reply to an AccordError: the status its type carries
    (bot/errors.py), read here only, by the app's handler and by the admin endpoints, whose
    changes run in a thread and keep their reply in the job record. For a change, the message
    says that nothing was changed, and the index or the model failing under it is the change's
    400, told with its reason; paths are the caller's to cut (without_paths)."""
    if change:
        if exc.status in (400, 404):
            return exc.status, f"{exc} (nothing was changed)"
        if exc.status == 409:
            return 409, f"{exc}; try again later (nothing was changed)"
        return 400, f"The index could not be updated: {exc} (nothing was changed)"
    if isinstance(exc, IndexUnavailable):
        return exc.status, f"The index is not available: {exc}"
    return exc.status, str(exc)


def error_response(status: int, message: str) -> tuple[Response, int]:
    """The one error shape with the status it belongs to."""
    response = jsonify(error_body(status, message))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="accord"'
    return response, status


def refuse_large_body() -> None:
    """Refuse a body over the limit from its declared size, before anything reads it: admin
    requests (document uploads) may send up to MAX_UPLOAD_LENGTH, the rest MAX_CONTENT_LENGTH."""
    if request.blueprint == "admin":
        request.max_content_length = current_app.config["MAX_UPLOAD_LENGTH"]
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"The request body is {request.content_length} bytes; the limit is "
                            f"{limit} bytes.")


def init_app(app: Flask) -> None:
    """Route every exception, HTTP or not, to the JSON error shape; nothing else reaches a client."""
    app.before_request(refuse_large_body)

    @app.errorhandler(ApiError)
    def _api(exc: ApiError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(AccordError)
    def _accord(exc: AccordError):
        # The status comes with the error's type; a 500 is the server's, told like any other.
        if exc.status >= 500 and not isinstance(exc, IndexUnavailable):
            return _internal(exc)
        status, message = reply_to(exc)
        return error_response(status, without_paths(message))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        if status < 400:  # routing redirects are replies, not errors
            return exc.get_response()
        message = MESSAGES.get(status) or (exc.description or exc.name)
        response, status = error_response(status, message)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        # The traceback goes to the log only, under the id the reply and X-Request-ID repeat.
        rid = request_id()
        log.exception("internal error, request id %s", rid)
        return error_response(500, f"Something went wrong on the server (request id {rid}).")
