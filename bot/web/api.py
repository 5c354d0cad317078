"""The public HTTP API of shared/API.md: /api/ask, /api/health and /api/documents."""
from __future__ import annotations

import os

from flask import Blueprint, g, jsonify, request

from ..qa.followup import CONTEXT_TURNS
from ..service import holder
from .errors import without_paths
from .feedback import issue_answer_id, record_unanswered
from .validation import json_body, parse_ask

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/ask")
def ask():
    args = parse_ask(json_body())
    bot = holder().get()
    # Only the latest turns are read: what the question refers to is there (followup.py).
    user_turns = [t["text"] for t in args["history"] if t["role"] == "user"][-CONTEXT_TURNS:]
    # The bot's last reply, when it follows the last user turn, may name what "it" refers to.
    turns = args["history"]
    last_answer = turns[-1]["text"] if len(turns) >= 2 and turns[-1]["role"] == "bot" \
        and turns[-2]["role"] == "user" else ""
    reply = bot.ask(args["question"], user_turns, k=args["k"], filters=args["filters"],
                    last_answer=last_answer)
    # Names this answer in POST /api/feedback; random, so nobody can rate another's answer.
    reply["answer_id"] = issue_answer_id(args["question"], reply)
    g.answered = bool(reply["answered"])
    if not reply["answered"]:
        record_unanswered(args["question"], reply.get("query", ""))
    return jsonify(reply)


@bp.get("/health")
def health():
    h = holder()
    h.refresh()
    if h.bot is None:
        # Monitors read the status fields; every other client reads the usual error shape.
        problem = without_paths(h.problem or "no index is loaded")
        message = f"The index is not available: {problem}"
        return jsonify({"status": "unavailable", "problem": problem, "documents": 0,
                        "passages": 0, "model": h.encoder.name, "index_version": None,
                        "built_at": None, "worker": os.getpid(),
                        "error": {"code": "index_unavailable", "message": message}}), 503
    m = h.bot.index.manifest
    body = {"status": "ok", "documents": len(m["corpus"]["documents"]),
            "passages": m["passages"], "model": m["model"]["name"],
            "index_version": m["version"], "built_at": m["built_at"],
            "worker": os.getpid(), "current_version": h.current_version()}
    if h.puller is not None:
        # A replica: the version in shared storage, and any problem pulling it.
        body["shared"] = {k: without_paths(v) if k == "problem" else v
                          for k, v in h.puller.status().items() if k != "url"}
    if body["current_version"] != m["version"]:
        # This worker answers from another version than index/current: refused or loading.
        body["status"] = "stale"
        body["problem"] = without_paths(h.problem or "the current version is being loaded")
    return jsonify(body)


@bp.get("/documents")
def documents():
    bot = holder().get()
    m = bot.index.manifest
    docs = [{"doc_id": d["doc_id"], "title": d["title"], "source": d["source"], "date": d["date"],
             "passages": d["passages"],
             **{k: d[k] for k in ("url", "pages") if d.get(k)},
             **({"original": f"{request.script_root}/api/documents/{d['doc_id']}/original"}
                if d.get("original") else {})}
            for d in m["corpus"]["documents"]]
    return jsonify({"documents": docs, "count": len(docs), "passages": m["passages"],
                    "index_version": m["version"], "built_at": m["built_at"]})
