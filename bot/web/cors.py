"""Cross-origin access to the API, only for the origins listed in ALLOWED_ORIGINS."""
from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

# The widget on another site calls these; pages and widget.js itself need no CORS.
CORS_PATHS = (r"/api/*", r"/openapi.json")
PREFLIGHT_MAX_AGE = 600
# scheme://host[:port], where host may start with "*." (any subdomain, never the bare domain).
ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<wild>\*\.)?(?P<rest>[A-Za-z0-9.-]+(?::\d{1,5})?)\Z")
LABELS = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"   # one or more DNS labels, each with a dot


def origin_pattern(origin: str) -> re.Pattern[str]:
    """The one origin an entry allows, matched exactly (flask-cors would read a string with
    '*', '?' or '$' as a regular expression, so 'https://*.example.org' allowed
    'https://xexample.org'). '*.' before the host allows its strict subdomains only."""
    found = ORIGIN.match(origin)
    if not found:
        raise ValueError(f"ACCORD_ALLOWED_ORIGINS: {origin!r} is not an origin; write "
                         "scheme://host[:port], e.g. https://www.example.org or "
                         "https://*.example.org for its subdomains")
    exact = re.escape(found["rest"]) + r"\Z"
    prefix = re.escape(found["scheme"] + "://") + (LABELS if found["wild"] else "")
    return re.compile(prefix + exact, re.IGNORECASE)


def init_app(app: Flask) -> None:
    origins = [origin_pattern(o) for o in app.config["ALLOWED_ORIGINS"]]
    resources = {path: {"origins": origins} for path in CORS_PATHS}
    # An empty origin list matches nothing, so the default is same origin only. always_send off:
    # a request without an Origin header is not cross-origin and gets no CORS headers at all.
    CORS(app, resources=resources, max_age=PREFLIGHT_MAX_AGE, always_send=False,
         methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type", "Authorization"],
         supports_credentials=False)
