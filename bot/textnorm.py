"""Normalising text people type (NFKC, no control or invisible format characters) before search."""
from __future__ import annotations

import re
import unicodedata

# Cc: control characters; Cf: invisible format characters (zero-width spaces, bidi overrides) that
# make two equal-looking questions differ; Cs: lone surrogates, which JSON "\ud800" can carry and
# which cannot even be encoded as UTF-8 later.
_DROP = {"Cc", "Cf", "Cs"}
_SPACES = re.compile(r"\s+")


def normalize_text(text: str, keep_newlines: bool = False) -> str:
    """NFKC form, control and format characters removed (whitespace ones become spaces),
    runs of spaces collapsed and the ends trimmed; paragraph breaks kept if asked."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        if ch.isspace():
            out.append("\n" if keep_newlines and ch == "\n" else " ")
        elif unicodedata.category(ch) not in _DROP:
            out.append(ch)
    cleaned = "".join(out)
    if keep_newlines:
        lines = (_SPACES.sub(" ", line).strip() for line in cleaned.split("\n"))
        return "\n".join(lines).strip()
    return _SPACES.sub(" ", cleaned).strip()
