"""Normalising what people type: NFKC, no control or invisible format characters, spaces collapsed."""
from __future__ import annotations

import pytest

from bot.text.normalize import normalize_text


@pytest.mark.parametrize("raw, clean", [
    ("ＨＫＥＸ　ｔｒａｄｅ", "HKEX trade"),                      # full-width letters and space
    ("Hong\u200bKong\u202e Chongqing\x00\x07", "HongKong Chongqing"),  # zero-width, bidi, controls
    ("ﬁnance  \t\n  co\u00adoperation", "finance cooperation"),        # ligature, soft hyphen
    ("e\u0301te\u0301", "\u00e9t\u00e9"),                               # composed
    ("  \r\n ", ""),
    ("\ud800 lone surrogate", "lone surrogate"),
])
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean


def test_normalize_text_keeps_paragraphs_when_asked():
    assert normalize_text("one\x1b[31m\n\n two  ", keep_newlines=True) == "one[31m\n\ntwo"
