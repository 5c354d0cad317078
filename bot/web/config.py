"""Normalising the web settings that may arrive as strings from ACCORD_* environment variables."""
from __future__ import annotations

from typing import Any

from flask import Flask


def _origins(value: Any) -> list[str]:
    # from_prefixed_env JSON-decodes when it can, so a list may arrive as well as "a,b".
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip().rstrip("/") for item in items if str(item).strip()]


def _positive_int(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number of bytes, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"{key} must be positive, not {number}")
    return number


def normalize(app: Flask) -> None:
    """Make MAX_CONTENT_LENGTH an int (Flask compares it with the body size) and origins a list."""
    app.config["MAX_CONTENT_LENGTH"] = _positive_int("MAX_CONTENT_LENGTH",
                                                     app.config.get("MAX_CONTENT_LENGTH"))
    app.config["ALLOWED_ORIGINS"] = _origins(app.config.get("ALLOWED_ORIGINS"))
    token = app.config.get("ADMIN_TOKEN")
    app.config["ADMIN_TOKEN"] = str(token) if token not in (None, "") else None
