"""README's examples are what the bot prints: `accord ask` verbatim, /api/health's figures."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from click.testing import CliRunner

from bot.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"
ASK = "What is Hong Kong's rank among Chongqing's trading partners?"
BLOCK = re.compile(r"(<!-- accord-ask -->\n```console\n\$ accord ask \"[^\"]+\"\n)(.*?)(```\n)", re.S)
HEALTH = re.compile(r"<!-- accord-health -->\n```json\n(.*?)```", re.S)


@pytest.mark.slow
def test_readme_shows_what_accord_ask_prints(real_index, monkeypatch):
    """Set ACCORD_REGENERATE_README=1 to write the current output into README.md instead."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = CliRunner().invoke(cli, ["ask", "--index", str(real_index), ASK])
    assert out.exit_code == 0, out.output
    printed = out.stdout if hasattr(out, "stdout") else out.output
    text = README.read_text(encoding="utf-8")
    found = BLOCK.search(text)
    assert found, "README.md lacks the <!-- accord-ask --> example"
    if os.environ.get("ACCORD_REGENERATE_README"):
        README.write_text(text[:found.start(2)] + printed + text[found.end(2):], encoding="utf-8")
    else:
        assert found[2] == printed, "README's accord ask example is stale: regenerate it " \
                                    "(ACCORD_REGENERATE_README=1)"


@pytest.mark.slow
def test_readme_health_figures_are_real(real_app):
    health = real_app.test_client().get("/api/health").get_json()
    found = HEALTH.search(README.read_text(encoding="utf-8"))
    assert found, "README.md lacks the <!-- accord-health --> example"
    shown = json.loads(found[1])
    for key in ("documents", "passages", "model", "status"):
        assert shown[key] == health[key], key
