"""Accord: cited answers from a collection of texts about government cooperation agreements."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from .version import __version__


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The web app: defaults, then ACCORD_* environment variables, then `test_config`.

    A setting, model, index or instance folder the app cannot work with raises an error whose
    message names it and the fix; under gunicorn that message is its one line, not a traceback."""
    from . import startup
    from .errors import AccordError

    try:
        return _create_app(test_config)
    except (AccordError, ValueError) as exc:
        if startup.under_gunicorn():
            raise startup.refuse_start(exc) from None
        raise


def _create_app(test_config: Mapping[str, Any] | None) -> Flask:
    from . import logs, service, settings, startup
    from .web import (admin, api, config, cors, errors, feedback, headers, json_provider, limits,
                      metrics, openapi, pages, request_log, viewer)

    app = Flask(__name__, instance_relative_config=True)
    app.json = json_provider.BoundedJSONProvider(app)
    # Read once, here: defaults, then ACCORD_* (not from_prefixed_env: it JSON-decodes values,
    # a token "1e999" became "inf", "null" None), then test_config.
    loaded = settings.load(test_config)
    app.config.from_mapping(loaded)
    config.normalize(app)
    # The one settings object every component is handed (the bot, builds, readers, encoder).
    app.extensions[service.SETTINGS_KEY] = settings.of_config(app.config, loaded.explicit)
    startup.configure_process(app.extensions[service.SETTINGS_KEY])
    logs.setup(app.config["LOG_LEVEL"])
    # after_request hooks run in reverse order: the access log (first) sees the final reply.
    request_log.init_app(app)
    metrics.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    cors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(viewer.bp)
    feedback.init_app(app)
    limits.init_app(app)
    # Tests build apps without an index on purpose; a server should not start without one.
    required = app.config["REQUIRE_INDEX"] and not app.testing
    if not app.config.get("ENCODER"):
        startup.check_model(str(app.config["MODEL"]))   # before the slow model import
    if required:
        startup.check_index(Path(app.config["INDEX_DIR"]))
    service.init_app(app)
    holder = app.extensions[service.KEY]
    if required and holder.bot is None:
        startup.require_index(holder.problem or "no index is loaded")
    return app
