"""Accord: cited answers from a collection of texts about government cooperation agreements."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The web app: defaults, then ACCORD_* environment variables, then `test_config`."""
    from . import service, settings
    from .web import admin, api, config, cors, errors, openapi, pages

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.defaults())
    app.config.from_prefixed_env("ACCORD")
    if test_config:
        app.config.from_mapping(test_config)
    config.normalize(app)
    errors.init_app(app)
    cors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(pages.bp)
    service.init_app(app)
    return app
