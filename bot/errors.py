"""Errors a user can act on: each carries a message that names the problem and the fix."""


class AccordError(Exception):
    """Base class of every error the bot reports to a person instead of a traceback.

    `status` is the HTTP status of a request that ends in it (bot/web/errors.py maps it, once);
    500, the default, is the server's own problem: the reply says so and the log has the rest."""

    status = 500


class DocumentError(AccordError):
    """A source text cannot be read or parsed."""

    status = 400


class IndexUnavailable(AccordError):
    """The index folder is missing, damaged or was built with another model."""

    status = 503


class BuildLocked(AccordError):
    """Another build holds the index lock."""

    status = 409


class DocumentNotFound(AccordError):
    """No document has that id."""

    status = 404


class ModelUnavailable(AccordError):
    """The embedding model cannot be loaded."""
