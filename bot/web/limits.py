"""Per-client rate limits (flask-limiter): /api/ask, /api/feedback and, stricter, the admin API."""
from __future__ import annotations

import ipaddress
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from ..errors import AccordError
from . import memory_storage, metrics
from .errors import error_response

KEY = "accord_limiter"
# (endpoint, setting): the public endpoints that cost the server work, limited on POST only so a
# CORS preflight never uses up a client's allowance.
VIEW_LIMITS = (("api.ask", "RATE_LIMIT"), ("feedback.feedback", "FEEDBACK_RATE_LIMIT"))
ADMIN_BLUEPRINT = "admin"
ADMIN_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
METRICS_ENDPOINT = "metrics.metrics"


class RateLimitStorageError(AccordError):
    """The configured rate-limit storage cannot be reached."""


def client_key() -> str:
    """The client's address; behind TRUSTED_PROXIES proxies, ProxyFix has already put the
    forwarded address here, and otherwise X-Forwarded-For is ignored so no client can pick it."""
    return request.remote_addr or "unknown"


def exempt_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """RATE_LIMIT_EXEMPT read: addresses or networks, comma-separated; a bad one is named."""
    out = []
    for part in (p.strip() for p in str(setting or "").split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise AccordError(f"ACCORD_RATE_LIMIT_EXEMPT: {part!r} is not an address or network "
                              "(for example 127.0.0.1, ::1 or 10.0.0.0/8)") from None
    return out


def _exempt_check(networks: list, proxies: int):
    """exempt_when for the public limits: the peer is in `networks` and, with no trusted proxy,
    sent no X-Forwarded-For (a proxy on this machine forwarding the internet's clients would
    otherwise make them all local)."""
    def exempt() -> bool:
        if not networks or (not proxies and "X-Forwarded-For" in request.headers):
            return False
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(address in net for net in networks)
    return exempt


def _retry_after(limiter: Limiter) -> int:
    current = limiter.current_limit
    if current is None:
        return 1
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many(exc: RateLimitExceeded):
    limiter: Limiter = current_app.extensions[KEY]
    wait = _retry_after(limiter)
    response, status = error_response(
        429, f"Too many requests from your address: the limit here is {exc.limit.limit}. "
             f"Try again in {wait} second{'' if wait == 1 else 's'}.")
    response.headers["Retry-After"] = str(wait)
    return response, status


def _check_storage(limiter: Limiter, uri: str) -> None:
    try:
        reachable = limiter.storage.check()
    except Exception:  # the storage libraries raise their own kinds
        reachable = False
    if not reachable:
        raise RateLimitStorageError(f"the rate-limit storage {uri} cannot be reached; start it or "
                                    "set ACCORD_RATE_LIMIT_STORAGE=memory://")


def _thread_safe_fallback(limiter: Limiter) -> None:
    # flask-limiter builds its outage fallback on the plain MemoryStorage; swap in the locked one.
    fallback = getattr(limiter, "_fallback_limiter", None)
    if fallback is not None:
        limiter._fallback_storage = memory_storage.LockedMemoryStorage()
        limiter._fallback_limiter = type(fallback)(limiter._fallback_storage)


def init_app(app: Flask) -> Limiter:
    """Wrap the limited views of `app` (call after its blueprints are registered)."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore
    uri = str(app.config["RATE_LIMIT_STORAGE"] or "memory://")
    memory = uri.startswith("memory://")
    try:
        limiter = Limiter(client_key, app=app, strategy="sliding-window-counter", key_prefix="accord",
                          storage_uri=uri.replace("memory://", f"{memory_storage.SCHEME}://", 1)
                          if memory else uri,
                          # A storage outage while serving degrades to per-process counting.
                          in_memory_fallback_enabled=True)
    except Exception as exc:  # an unknown scheme or a missing driver: say which setting
        raise RateLimitStorageError(f"ACCORD_RATE_LIMIT_STORAGE={uri!r} cannot be used: "
                                    f"{str(exc).splitlines()[0]}") from None
    if not memory:
        _check_storage(limiter, uri)
        _thread_safe_fallback(limiter)
    app.extensions[KEY] = limiter
    exempt = _exempt_check(exempt_networks(app.config["RATE_LIMIT_EXEMPT"]), proxies)
    for endpoint, key in VIEW_LIMITS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.limit(app.config[key], methods=["POST"],
                                                         exempt_when=exempt)(
                app.view_functions[endpoint])
    if ADMIN_BLUEPRINT in app.blueprints:
        # One allowance for all admin endpoints together, so guesses cannot be spread over them.
        limiter.shared_limit(app.config["ADMIN_RATE_LIMIT"], scope="admin", methods=ADMIN_METHODS)(
            app.blueprints[ADMIN_BLUEPRINT])
    if METRICS_ENDPOINT in app.view_functions:
        # Guesses at the token are limited like admin ones; a scrape with the token never is, even
        # from an address that also sent guesses.
        app.view_functions[METRICS_ENDPOINT] = limiter.limit(
            app.config["ADMIN_RATE_LIMIT"], exempt_when=metrics.token_matches,
            deduct_when=lambda response: response.status_code == 401,
        )(app.view_functions[METRICS_ENDPOINT])
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter
