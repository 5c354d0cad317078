"""Text safe to print to a terminal: no control characters (ESC, BEL, CSI, OSC...) from documents
or people that could move the cursor, retitle the window, ring the bell or fake output."""
from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except newline, DEL and the C1 controls (U+009B is CSI on its own in many terminals).
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# json.dumps escapes C0 but passes DEL and C1 through when ensure_ascii is off.
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f]")


def printable(text: Any) -> str:
    """`text` with every control character but newline removed (a tab becomes a space)."""
    return _CONTROLS.sub(lambda m: " " if m.group() == "\t" else "", str(text))


def json_for_terminal(value: Any) -> str:
    """`value` as indented JSON with every control character escaped (still valid JSON)."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
