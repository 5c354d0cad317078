"""The one JSON error shape, for every 4xx and 5xx the app can produce."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import IndexUnavailable

log = logging.getLogger("accord")

CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
         503: "index_unavailable", 500: "internal"}
MESSAGES = {
    404: "There is nothing at this address; see /openapi.json for the endpoints.",
    405: "This endpoint does not accept that method; see /openapi.json.",
    413: "The request body is too large.",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status: int, message: str):
    body = {"error": {"code": CODES.get(status, "bad_request" if status < 500 else "internal"),
                      "message": message}}
    return jsonify(body), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(exc: ApiError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(IndexUnavailable)
    def _index(exc: IndexUnavailable):
        return error_response(503, f"The index is not available: {exc}")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        message = MESSAGES.get(status) or (exc.description or exc.name)
        response, status = error_response(status, message)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        request_id = uuid.uuid4().hex[:12]
        log.exception("internal error, request id %s", request_id)
        return error_response(500, f"Something went wrong on the server (request id {request_id}).")
