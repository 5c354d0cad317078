"""Normalising text people type (NFKC, no control or invisible format characters) before search."""
from __future__ import annotations

import re
import unicodedata

# Cc: control characters; Cf: invisible format characters (zero-width spaces, bidi overrides) that
# make two equal-looking questions differ; Cs: lone surrogates, which JSON "\ud800" can carry and
# which cannot even be encoded as UTF-8 later.
_DROP = {"Cc", "Cf", "Cs"}
_SPACES = re.compile(r"\s+")


def _map(text: str, keep_newlines: bool) -> str:
    # Each distinct character is looked at once and the text rewritten by str.translate: a
    # loop over every character was 5 ms for one 4,000-character history turn.
    table: dict[int, str | None] = {}
    for ch in set(text):
        if ch.isspace():
            table[ord(ch)] = "\n" if keep_newlines and ch == "\n" else " "
        elif unicodedata.category(ch) in _DROP:
            table[ord(ch)] = None
    return text.translate(table)


def _collapse(text: str, keep_newlines: bool) -> str:
    if keep_newlines:
        lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
        return "\n".join(lines).strip()
    return _SPACES.sub(" ", text).strip()


def normalize_text(text: str, keep_newlines: bool = False, limit: int | None = None) -> str:
    """NFKC form, control and format characters removed (whitespace ones become spaces),
    runs of spaces collapsed and the ends trimmed; paragraph breaks kept if asked.

    With `limit`, the result is cut to that many characters and only as much of the text is
    cleaned as that needs: NFKC can make one character 18 (U+FDFA), and the limit holds after
    it, so neither the result nor the work grows with the expansion."""
    text = unicodedata.normalize("NFKC", text)
    if limit is None:
        return _collapse(_map(text, keep_newlines), keep_newlines)
    pieces, visible = [], 0
    for start in range(0, len(text), limit + 1):
        piece = _map(text[start:start + limit + 1], keep_newlines)
        pieces.append(piece)
        visible += len(piece) - piece.count(" ") - piece.count("\n")
        if visible > limit:
            break   # more than `limit` characters survive collapsing: the rest is cut anyway
    return _collapse("".join(pieces), keep_newlines)[:limit]
