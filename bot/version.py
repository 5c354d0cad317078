"""The package version, in one place the web layer can read without importing the app factory."""

__version__ = "0.1.0"
