"""Errors a user can act on: each carries a message that names the problem and the fix."""


class AccordError(Exception):
    """Base class of every error the bot reports to a person instead of a traceback."""


class DocumentError(AccordError):
    """A source text cannot be read or parsed."""


class IndexUnavailable(AccordError):
    """The index folder is missing, damaged or was built with another model."""


class BuildLocked(AccordError):
    """Another build holds the index lock."""


class DocumentNotFound(AccordError):
    """No document has that id."""


class ModelUnavailable(AccordError):
    """The embedding model cannot be loaded."""
