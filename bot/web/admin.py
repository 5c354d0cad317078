"""Admin endpoints of API.md, behind a bearer token; closed when ACCORD_ADMIN_TOKEN is unset."""
from __future__ import annotations

import hmac
from functools import wraps
from typing import Any, Callable

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

from ..errors import AccordError, BuildLocked, DocumentError, DocumentNotFound
from ..service import holder
from .errors import ApiError

bp = Blueprint("admin", __name__, url_prefix="/api")


def check_token() -> None:
    """Raise a 401 ApiError unless the request carries the configured bearer token."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        raise ApiError(401, "Admin endpoints are closed: the server has no ACCORD_ADMIN_TOKEN "
                            "configured.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "Send the admin token as 'Authorization: Bearer <token>'.")
    # Constant-time comparison so the token cannot be guessed byte by byte from timings.
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "The admin token is wrong.")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_token()
        return view(*args, **kwargs)
    return wrapper


API_LOCK_WAIT = 60.0   # seconds a request waits for another build before answering 409


def _reply(outcome) -> Any:
    h = holder()
    report = outcome.report
    if report is None:   # nothing changed: the version served stays
        bot = h.get()
        return jsonify({"status": "unchanged", "index_version": bot.index.version,
                        "documents": len(bot.index.manifest["corpus"]["documents"]),
                        "passages": len(bot.index.passages), "changes": outcome.changes,
                        "build": None})
    h.refresh()  # this worker switches now; the others at their next request
    summary = report.summary()
    summary["waited_for_other_build"] = report.waited
    return jsonify({"status": "rebuilt", "index_version": report.version,
                    "documents": report.documents, "passages": report.passages,
                    "changes": outcome.changes, "build": summary})


def _update(**change: Any) -> Any:
    from ..corpus import update

    config = current_app.config
    try:
        outcome = update(Path(config["CORPUS_DIR"]), Path(config["INDEX_DIR"]), holder().encoder,
                         wait=API_LOCK_WAIT, **change)
    except DocumentNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except DocumentError as exc:
        raise ApiError(400, f"{exc} (nothing was changed)") from None
    except BuildLocked as exc:
        raise ApiError(409, f"{exc}; try again later (nothing was changed)") from None
    except AccordError as exc:
        raise ApiError(400, f"The index could not be updated: {exc} (nothing was changed)") from None
    return _reply(outcome)


def _documents_from_request() -> list:
    from ..corpus import from_json, from_upload

    if request.mimetype == "multipart/form-data":
        files = [f for name in request.files for f in request.files.getlist(name)]
        if not files:
            raise ApiError(400, "Attach one or more .txt, .md or .html files as form fields.")
        try:
            return [from_upload(f.filename or "", f.read()) for f in files]
        except DocumentError as exc:
            raise ApiError(400, f"{exc} (nothing was changed)") from None
    if not request.is_json:
        raise ApiError(415, "Send JSON {\"documents\": [...]} or a multipart/form-data upload.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("documents"), list) \
            or not body["documents"]:
        raise ApiError(400, "The body must be {\"documents\": [{\"id\", \"text\", \"title\", "
                            "\"source\", \"date\"}, ...]} with at least one document.")
    if set(body) - {"documents"}:
        raise ApiError(400, f"Unknown field(s): {', '.join(sorted(set(body) - {'documents'}))}.")
    try:
        return [from_json(item, i) for i, item in enumerate(body["documents"])]
    except DocumentError as exc:
        raise ApiError(400, f"{exc} (nothing was changed)") from None


@bp.post("/documents")
@admin_required
def add_documents():
    """Add or replace documents (JSON or multipart upload), then publish a new index version."""
    return _update(add=_documents_from_request())


@bp.delete("/documents/<doc_id>")
@admin_required
def delete_document(doc_id: str):
    return _update(remove=[doc_id])


@bp.post("/index/rebuild")
@admin_required
def rebuild_index():
    full = False
    if request.content_length:
        if not request.is_json:
            raise ApiError(415, "Send the optional body as JSON, e.g. {\"full\": true}.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) - {"full"} or \
                not isinstance(body.get("full", False), bool):
            raise ApiError(400, "The optional body is {\"full\": true|false}.")
        full = body.get("full", False)
    return _update(rebuild=True, full=full)
