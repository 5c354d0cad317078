"""Normalising the web settings that may arrive as strings from ACCORD_* environment variables."""
from __future__ import annotations

from typing import Any

from flask import Flask

from ..settings import to_bool


def _origins(value: Any) -> list[str]:
    # A list may come from test_config, a string "a,b" from the environment.
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


def _rate_limit(key: str, value: Any) -> str:
    from limits import parse_many

    text = str(value or "").strip()
    try:
        if not parse_many(text):
            raise ValueError
    except ValueError:
        raise ValueError(f"ACCORD_{key} must be a rate limit like '60/minute' or "
                         f"'10 per second', not {value!r}") from None
    return text


def _token(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _yes_no(key: str, value: Any) -> bool:
    try:
        return to_bool(value)
    except ValueError as exc:
        raise ValueError(f"ACCORD_{key}: {exc}") from None


def _count(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise ValueError(f"ACCORD_{key} must be a whole number of 0 or more, not {value!r}")
    return number


def normalize(app: Flask) -> None:
    """Settings that may arrive as strings from the environment, as the types the app uses:
    sizes as ints (Flask compares them with the body size), origins as a list, limits checked."""
    for key in ("MAX_CONTENT_LENGTH", "MAX_UPLOAD_LENGTH", "FEEDBACK_MAX_BYTES"):
        app.config[key] = _positive_int(key, app.config.get(key))
    app.config["ALLOWED_ORIGINS"] = _origins(app.config.get("ALLOWED_ORIGINS"))
    for key in ("ADMIN_TOKEN", "METRICS_TOKEN"):
        app.config[key] = _token(app.config.get(key))
    for key in ("RATE_LIMIT", "FEEDBACK_RATE_LIMIT", "ADMIN_RATE_LIMIT"):
        app.config[key] = _rate_limit(key, app.config.get(key))
    for key in ("STORE_QUESTIONS", "REQUIRE_INDEX"):
        app.config[key] = _yes_no(key, app.config.get(key))
    app.config["TRUSTED_PROXIES"] = _count("TRUSTED_PROXIES", app.config.get("TRUSTED_PROXIES"))
    app.config["LOG_LEVEL"] = str(app.config.get("LOG_LEVEL") or "INFO").upper()
