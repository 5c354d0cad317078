"""Admin endpoints of API.md, behind a bearer token; closed when ACCORD_ADMIN_TOKEN is unset."""
from __future__ import annotations

import hmac
import logging
import threading
from functools import wraps
from pathlib import Path
from typing import Any, Callable

from flask import Blueprint, current_app, jsonify, request

from ..index import jobs as admin_jobs
from ..errors import AccordError, DocumentError, IndexUnavailable
from ..service import holder
from .errors import ApiError, error_body, reply_to, without_paths
from .validation import parse_add_documents, parse_delete_ids, parse_rebuild

log = logging.getLogger("accord")

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


API_LOCK_WAIT = 60.0   # seconds a change waits for another build before failing with 409
# An admin request answers with the outcome when its change is done within this many seconds,
# else 202 with a job to poll (GET /api/index/jobs/<id>); the change goes on either way.
SYNC_WAIT = 5.0
POLL_AFTER = 10   # seconds, the Retry-After of a 202: polls count against ADMIN_RATE_LIMIT


def _reply_body(h, outcome) -> dict[str, Any]:
    report = outcome.report
    if report is None:   # nothing changed: the version served stays
        bot = h.get()
        return {"status": "unchanged", "index_version": bot.index.version,
                "documents": len(bot.index.manifest["corpus"]["documents"]),
                "passages": len(bot.index.passages), "changes": outcome.changes,
                "build": None}
    h.refresh()  # this worker switches now; the others at their next request
    summary = report.summary()
    summary["waited_for_other_build"] = report.waited
    return {"status": "rebuilt", "index_version": report.version,
            "documents": report.documents, "passages": report.passages,
            "changes": outcome.changes, "build": summary}


def _failure(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """A job's failed reply, as the request would have had it (the job record keeps it)."""
    return status, error_body(status, without_paths(message))


def _run(h, corpus_dir: Path, index_dir: Path, job_id: str, change: dict[str, Any]
         ) -> tuple[int, dict[str, Any]]:
    """One change, to its reply: (HTTP status, body)."""
    from ..index.changes import update

    try:
        outcome = update(corpus_dir, index_dir, h.encoder, wait=API_LOCK_WAIT, job=job_id, settings=h.settings,
                         on_stage=lambda stage: admin_jobs.update(index_dir, job_id, stage=stage),
                         **change)
    except AccordError as exc:
        return _failure(*reply_to(exc, change=True))
    except Exception:
        log.exception("admin job %s failed", job_id)
        return _failure(500, f"Something went wrong on the server (admin job {job_id}).")
    try:
        return 200, _reply_body(h, outcome)
    except IndexUnavailable as exc:
        return _failure(*reply_to(exc))


def _update(**change: Any) -> Any:
    """Run the change as a job; its outcome if done within SYNC_WAIT, else 202 and the job."""
    config, h = current_app.config, holder()
    corpus_dir, index_dir = Path(config["CORPUS_DIR"]), Path(config["INDEX_DIR"])
    job_id = admin_jobs.create(index_dir, kind=request.endpoint or "admin")
    done = threading.Event()

    def job() -> None:
        try:
            status, body = _run(h, corpus_dir, index_dir, job_id, change)
            admin_jobs.finish(index_dir, job_id, status, body)
        finally:
            done.set()

    # Not a daemon: a worker shutting down lets the change finish (or be killed, and settled
    # by bot/journal.py at the next change or start).
    threading.Thread(target=job, name=f"admin-job-{job_id}").start()
    if done.wait(SYNC_WAIT):
        record = admin_jobs.read(index_dir, job_id) or {}
        if record.get("status") == "done":
            return jsonify(record["result"])
        error = record.get("error") or {"message": "The change failed."}
        raise ApiError(record.get("http_status") or 500, error["message"])
    location = f"{request.script_root}/api/index/jobs/{job_id}"
    response = jsonify({"status": "running", "job_id": job_id, "location": location,
                        "poll_after": POLL_AFTER})
    response.status_code = 202
    response.headers["Location"] = location
    response.headers["Retry-After"] = str(POLL_AFTER)
    return response


def _documents_from_request() -> list:
    from ..index.changes import from_json, from_upload

    if request.mimetype == "multipart/form-data":
        files = [f for name in request.files for f in request.files.getlist(name)]
        if not files:
            raise ApiError(400, "Attach one or more .txt, .md, .html, .pdf or .docx files as form fields.")
        # `url` form fields: where each file is published, in the order of the files.
        urls = request.form.getlist("url")
        if urls and len(urls) != len(files):
            raise ApiError(400, f"Give one url per file, in the order of the files ({len(files)} "
                                f"file(s), {len(urls)} url(s)); nothing was changed.")
        try:
            return [from_upload(f.filename or "", f.read(), url)
                    for f, url in zip(files, urls or [""] * len(files))]
        except DocumentError as exc:
            raise ApiError(*reply_to(exc, change=True)) from None
    if not request.is_json:
        raise ApiError(415, "Send JSON {\"documents\": [...]} or a multipart/form-data upload.")
    documents = parse_add_documents(request.get_json(silent=True))
    try:
        return [from_json(item, i) for i, item in enumerate(documents)]
    except DocumentError as exc:
        raise ApiError(*reply_to(exc, change=True)) from None


@bp.post("/documents")
@admin_required
def add_documents():
    """Add or replace documents (JSON or multipart upload), then publish a new index version."""
    return _update(add=_documents_from_request())


@bp.delete("/documents/<doc_id>")
@admin_required
def delete_document(doc_id: str):
    return _update(remove=[_checked_id(doc_id)])


def _checked_id(doc_id: Any) -> str:
    from ..corpus.reading import check_doc_id

    try:
        return check_doc_id(doc_id)
    except DocumentError as exc:
        raise ApiError(*reply_to(exc, change=True)) from None


@bp.delete("/documents")
@admin_required
def delete_documents():
    """Remove many documents in one change (one build): DELETE /api/documents {"ids": [...]}.
    (Not a path under /api/documents/: any name there could be a document id.)"""
    if not request.is_json:
        raise ApiError(415, "Send JSON {\"ids\": [\"doc-id\", ...]}.")
    ids = parse_delete_ids(request.get_json(silent=True))
    return _update(remove=[_checked_id(i) for i in ids])


@bp.get("/index/jobs/<job_id>")
@admin_required
def index_job(job_id: str):
    """The status of an admin change that answered 202; any worker can answer it."""
    record = admin_jobs.read(Path(current_app.config["INDEX_DIR"]), job_id)
    if record is None:
        raise ApiError(404, "There is no admin job with this id (only the newest "
                            f"{admin_jobs.KEEP} are kept).")
    record.pop("pid", None)
    return jsonify(record)


@bp.post("/index/rebuild")
@admin_required
def rebuild_index():
    full = False
    if request.content_length:
        if not request.is_json:
            raise ApiError(415, "Send the optional body as JSON, e.g. {\"full\": true}.")
        full = parse_rebuild(request.get_json(silent=True))
    return _update(rebuild=True, full=full)
