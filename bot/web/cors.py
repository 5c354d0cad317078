"""Cross-origin access to the API, only for the origins listed in ALLOWED_ORIGINS."""
from __future__ import annotations

from flask import Flask
from flask_cors import CORS

# The widget on another site calls these; pages and widget.js itself need no CORS.
CORS_PATHS = (r"/api/*", r"/openapi.json")
PREFLIGHT_MAX_AGE = 600


def init_app(app: Flask) -> None:
    origins = app.config["ALLOWED_ORIGINS"]
    resources = {path: {"origins": origins} for path in CORS_PATHS}
    # An empty origin list matches nothing, so the default is same origin only. always_send off:
    # a request without an Origin header is not cross-origin and gets no CORS headers at all.
    CORS(app, resources=resources, max_age=PREFLIGHT_MAX_AGE, always_send=False,
         methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type", "Authorization"],
         supports_credentials=False)
