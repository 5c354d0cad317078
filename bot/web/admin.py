"""Admin endpoints of API.md, behind a bearer token; closed when ACCORD_ADMIN_TOKEN is unset."""
from __future__ import annotations

import hmac
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, current_app, request

from .errors import ApiError, error_response

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


def admin_not_ready(action: str):
    """Placeholder for the admin actions until the index update code lands (to be replaced)."""
    return error_response(503, f"{action} is not available on this server yet.")


@bp.post("/documents")
@admin_required
def add_documents():
    return admin_not_ready("Adding documents")


@bp.delete("/documents/<doc_id>")
@admin_required
def delete_document(doc_id: str):
    return admin_not_ready(f"Deleting document {doc_id!r}")


@bp.post("/index/rebuild")
@admin_required
def rebuild_index():
    return admin_not_ready("Rebuilding the index")
