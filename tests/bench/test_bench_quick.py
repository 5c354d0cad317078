"""`accord bench --quick` runs end to end: real model, default corpus, a small synthetic IVF
index, gunicorn over HTTP, and prints its table (the full run is in docs/performance.md)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_accord_bench_quick(tmp_path):
    out = tmp_path / "bench.json"
    # The benchmark's machinery is what is tested here, on the smaller model (half the time);
    # the default model's figures are measured by running `accord bench` itself.
    from ..servers import SERVING_MODEL
    env = dict(os.environ, HF_HUB_OFFLINE="1", ACCORD_MODEL=SERVING_MODEL)
    run = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "bench", "--quick",
                          "--workdir", str(tmp_path / "work"), "--json", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "| default |" in run.stdout and "(synthetic)" in run.stdout
    default, synthetic = result["sizes"]
    assert default["index_type"] == "flat-ip" and default["recall_at_10"] == 1.0
    assert synthetic["index_type"] == "ivf-fp16" and synthetic["synthetic"]
    for row in result["sizes"]:
        assert row["http"]["errors"] == 0 and row["http"]["ask_errors"] == 0
        assert row["http"]["answers_per_s"] > 0 and row["http"]["ask_p50_ms"] > 0
        # Where the time goes: the bot's own time is inside the request's, and what it embeds
        # was encoded and timed.
        assert 0 < row["http"]["inside_bot_p50_ms"] < row["http"]["ask_p50_ms"]
        assert row["embedded_query_encode_p50_ms"] > 0
    assert "Where /api/ask's time goes at default" in run.stdout
    assert result["floor"]["encode_p50_ms"] > 0 and result["floor"]["batched_passages_per_s"] > 0
    assert "pss_2_over_1_workers" in synthetic["ratios"]
