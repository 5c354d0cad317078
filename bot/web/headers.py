"""Security headers on every reply: a Content-Security-Policy, nosniff, Referrer-Policy, framing;
redirects relative and uncached."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, request

# Pages load only their own files: nothing inline, nothing from elsewhere.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'self'")
# Anything else (JSON, scripts, metrics) is never a document: if a browser is led to open one as
# a page, it may run nothing and load nothing.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
REFERRER_POLICY = "no-referrer"
# Answers to people's questions must not be kept by shared caches.
NO_STORE_PREFIXES = ("/api/", "/metrics")


def _relative_redirect(response: Response) -> None:
    """Redirects point into this site by path, never by host, and are never cached. werkzeug
    builds the Location of its slash redirects from the request's Host header, so a forged
    `Host: evil.example` got a 308 (cacheable by default) to that host."""
    parts = urlsplit(response.headers["Location"])
    # One leading slash: "//evil.example/x" would be a link to another host.
    path = "/" + parts.path.lstrip("/\\")
    response.headers["Location"] = urlunsplit(("", "", path, parts.query, parts.fragment))
    response.headers["Cache-Control"] = "no-store"


def _secure(response: Response) -> Response:
    # A 304 (no Location) is a cache revalidation, not a redirect: left alone.
    if 300 <= response.status_code < 400 and response.headers.get("Location"):
        _relative_redirect(response)
    headers = response.headers
    page = response.mimetype == "text/html"
    headers.setdefault("Content-Security-Policy", PAGE_CSP if page else OTHER_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if page else "DENY")
    if request.path.startswith(NO_STORE_PREFIXES):
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
