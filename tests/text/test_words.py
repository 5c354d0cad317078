"""Words for search: the spelling folds' shortcuts give what running every fold gives."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.text import chinese
from bot.text.words import IRREGULAR, IRREGULAR_RE, SPELLING, fold_spelling

# Bounded: the suite's budget is minutes.
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


# --- the spelling folds' shortcuts ------------------------------------------------------------

SPELLING_WORDS = ["organise", "Organised", "realisation", "centres", "theatre", "colours", "our",
                  "hour", "programmes", "said", "MET", "metro", "led", "called", "Given", "ıse",
                  "İsed", "ſaid", "K", "中文organise", "’", "-", " "]


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(st.sampled_from(SPELLING_WORDS), st.text(max_size=8)), max_size=12))
def test_spelling_folds_skip_only_patterns_that_cannot_match(words):
    """fold_spelling runs a pattern only when its letters are in the text: the result is the
    same as running every pattern (the index and the questions must fold alike)."""
    text = " ".join(words)
    expected = text
    for pattern, repl in SPELLING:
        expected = pattern.sub(repl, expected)
    expected = IRREGULAR_RE.sub(
        lambda m: IRREGULAR.get(m.group(1).lower(), m.group(1)), expected)
    assert fold_spelling(text) == chinese.segment(expected)
