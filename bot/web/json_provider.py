"""The app's JSON provider: a body nested too deeply is a 400, not a RecursionError (a 500)."""
from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest


class TooDeeplyNested(BadRequest):
    """Not a ValueError on purpose: `request.get_json(silent=True)` would turn it into None and
    the endpoint would answer with a message about the wrong thing."""

    description = "The JSON body is nested too deeply; send a flat object as /openapi.json shows."


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's provider, for every JSON body every endpoint reads (`request.get_json`,
    `current_app.json.loads`): json's C parser recurses once per level of nesting and stops at
    the recursion limit, so '[' * 100000 raises RecursionError from inside the parser."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise TooDeeplyNested() from None
