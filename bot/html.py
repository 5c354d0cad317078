"""Main text, title and date of an HTML page, with trafilatura (navigation and furniture dropped)."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import DocumentError


@dataclass
class Page:
    title: str
    date: str
    source: str
    text: str     # paragraphs separated by blank lines


def extract(html: str, name: str) -> Page:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=True, output_format="python")
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise DocumentError(f"{name}: no main text found in the HTML page")
    # trafilatura puts one newline between paragraphs; the cleaner reads blank lines as breaks.
    text = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
    return Page(title=(doc.title or "").strip(), date=(doc.date or "").strip(),
                source=(doc.sitename or doc.hostname or "").strip(), text=text)
