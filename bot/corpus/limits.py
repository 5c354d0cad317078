"""The bounds on reading one document, handed down from the settings (defaults: the table's)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..settings import BY_KEY


def _default(key: str) -> Any:
    return field(default=BY_KEY[key].default)


@dataclass(frozen=True)
class ReadLimits:
    """What reading and splitting a document may take; each field is the setting of its name
    in capitals (MAX_SENTENCE_CHARS for max_sentence_chars)."""

    max_document_bytes: int = _default("MAX_DOCUMENT_BYTES")
    max_front_matter_bytes: int = _default("MAX_FRONT_MATTER_BYTES")
    max_meta_chars: int = _default("MAX_META_CHARS")
    max_sentence_chars: int = _default("MAX_SENTENCE_CHARS")
    max_passage_chars: int = _default("MAX_PASSAGE_CHARS")
    max_html_attributes: int = _default("MAX_HTML_ATTRIBUTES")
    max_original_bytes: int = _default("MAX_ORIGINAL_BYTES")
    max_pdf_pages: int = _default("MAX_PDF_PAGES")
    ocr_languages: str = _default("OCR_LANGUAGES")
    ocr_dpi: int = _default("OCR_DPI")
    pdf_memory_bytes: int = _default("PDF_MEMORY_BYTES")
    pdf_page_seconds: float = _default("PDF_PAGE_SECONDS")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> "ReadLimits":
        """The limits out of the settings object (its defaults for those it lacks)."""
        given = settings or {}
        values = {}
        for f in dataclasses.fields(cls):
            key = f.name.upper()
            if given.get(key) not in (None, ""):
                kind = str if f.type == "str" else float if f.type == "float" else int
                values[f.name] = kind(given[key])
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_LIMITS = ReadLimits()
