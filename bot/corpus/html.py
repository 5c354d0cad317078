"""Main text, title and date of an HTML page, with trafilatura (navigation and furniture dropped)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from ..errors import DocumentError
from ..settings import BY_KEY

# A start tag up to its first '>' (a '>' inside a quoted value ends it early: the rest is then
# text, harmless here). Possessive quantifiers: a scan never backtracks, so this is linear.
START_TAG = re.compile(r"<([A-Za-z][^\s/<>]*+)([^<>]*+)>")
ATTRIBUTE = re.compile(r"""[^\s"'<>/=]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'<>=`]++))?+""")


@dataclass
class Page:
    title: str
    date: str
    source: str
    text: str     # paragraphs separated by blank lines
    url: str = ""  # the canonical address the page names (link rel=canonical, og:url)


def bound_attributes(html: str, limit: int) -> str:
    """The page with at most `limit` attributes per tag: libxml2 compares each attribute with
    those before it, so one tag of 20,000 attributes took 0.7 s to parse, 100,000 took minutes."""
    def shorten(tag: re.Match) -> str:
        attrs = tag.group(2)
        if len(attrs) < 2 * limit:   # too short to hold `limit` attributes
            return tag.group(0)
        kept = [a.group(0) for a in islice(ATTRIBUTE.finditer(attrs), limit + 1)]
        if len(kept) <= limit:
            return tag.group(0)
        closing = "/" if attrs.rstrip().endswith("/") else ""
        return f"<{tag.group(1)} {' '.join(kept[:limit])}{closing}>"

    return START_TAG.sub(shorten, html)


def extract(html: str, name: str, max_attributes: int = BY_KEY["MAX_HTML_ATTRIBUTES"].default) -> Page:
    import trafilatura

    html = bound_attributes(html, int(max_attributes))
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=True, output_format="python")
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise DocumentError(f"{name}: no main text found in the HTML page")
    # trafilatura puts one newline between paragraphs; the cleaner reads blank lines as breaks.
    text = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
    return Page(title=(doc.title or "").strip(), date=(doc.date or "").strip(),
                source=(doc.sitename or doc.hostname or "").strip(), text=text,
                url=(doc.url or "").strip())
