"""The web layer: HTTP API and pages."""
