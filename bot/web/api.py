"""The HTTP API of shared/API.md: /api/ask and /api/health."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..service import holder
from .errors import ApiError
from .validation import parse_ask

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body():
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "The body is not valid JSON.")
    return body


@bp.post("/ask")
def ask():
    args = parse_ask(json_body())
    bot = holder().get()
    user_turns = [t["text"] for t in args["history"] if t["role"] == "user"]
    return jsonify(bot.ask(args["question"], user_turns, k=args["k"], filters=args["filters"]))


@bp.get("/health")
def health():
    h = holder()
    if h.bot is None:
        return jsonify({"status": "unavailable", "problem": h.problem, "documents": 0,
                        "passages": 0, "model": h.encoder.name, "index_version": None,
                        "built_at": None}), 503
    m = h.bot.index.manifest
    return jsonify({"status": "ok", "documents": len(m["corpus"]["documents"]),
                    "passages": m["passages"], "model": m["model"]["name"],
                    "index_version": m["version"], "built_at": m["built_at"]})
