"""Flask's development server for `accord serve --dev`, minus its version banner and access lines."""
from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler


class QuietRequestHandler(WSGIRequestHandler):
    """Says 'Server: accord' (not the Werkzeug and Python versions) and leaves access logging to
    the app's JSON lines."""

    def version_string(self) -> str:
        return "accord"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass
