"""The query encoder: ONNX Runtime by default, the same vectors as torch, no torch in an answering process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.bench.load import free_port
from bot.encoder import ModelUnavailable, SentenceTransformerEncoder
from bot.onnx_query import unsupported
from bot.settings import default_model

from .conftest import REPO, SHARED_EVAL


def _questions() -> list[str]:
    files = [REPO / "eval" / "generalization.jsonl", SHARED_EVAL]
    return [json.loads(line)["question"] for f in files if f.exists()
            for line in f.read_text().splitlines() if line.strip()]


def test_onnx_is_the_default_and_gives_the_torch_vectors(real_encoder):
    assert real_encoder.query_backend == "onnx"
    questions = _questions() + ["", "a", "Hong Kong " * 400]   # empty, tiny, past max length
    onnx = np.stack([real_encoder.encode_query(q) for q in questions])
    torch = np.concatenate([real_encoder._encode_one(q) for q in questions])
    assert onnx.dtype == np.float32 and onnx.shape == (len(questions), real_encoder.dimension)
    assert float(((onnx * torch).sum(1)).min()) > 0.99999


def test_a_process_that_only_answers_never_loads_torch(tmp_path):
    # The torch weights would be a second copy of the model in every worker.
    code = ("import sys, numpy as np; from bot.encoder import SentenceTransformerEncoder;"
            "from bot.settings import default_model;"
            "e = SentenceTransformerEncoder(default_model(), threads=1);"
            "v = e.encode_query('Who signed the agreement?');"
            "print(e.query_backend, round(float(np.linalg.norm(v)), 4), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["onnx", "1.0", "False"]


def _folder(tmp_path: Path, modules: list[str], pooling: dict) -> Path:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": i, "name": str(i), "path": "" if i == 0 else f"{i}_{m}", "type": f"sentence_transformers.models.{m}"}
         for i, m in enumerate(modules)]))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


def test_only_mean_pooled_folders_go_through_onnx(tmp_path):
    assert unsupported(default_model()) is None
    mean = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    cls = dict(mean, pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    assert unsupported(str(_folder(tmp_path / "a", ["Transformer", "Pooling", "Normalize"], mean))) is None
    assert "pooling" in unsupported(str(_folder(tmp_path / "b", ["Transformer", "Pooling"], cls)))
    assert "Dense" in unsupported(str(_folder(tmp_path / "c", ["Transformer", "Pooling", "Dense"], mean)))
    assert "not a local" in unsupported("sentence-transformers/all-MiniLM-L6-v2")


def test_a_backend_asked_for_by_name_must_work(monkeypatch):
    monkeypatch.setenv("ACCORD_QUERY_BACKEND", "tensorflow")
    with pytest.raises(ModelUnavailable, match="use one of torch, onnx, onnx-int8"):
        SentenceTransformerEncoder(default_model())
    monkeypatch.setenv("ACCORD_QUERY_BACKEND", "torch")
    assert SentenceTransformerEncoder(default_model()).query_backend == "torch"


def test_serve_refuses_an_unknown_backend_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "serve",
                          "--index", str(tmp_path / "none"), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=300, cwd=REPO,
                         env={**os.environ, "ACCORD_QUERY_BACKEND": "gpu"})
    assert out.returncode == 1
    assert "ACCORD_QUERY_BACKEND='gpu': use one of torch, onnx, onnx-int8" in out.stderr
    assert "Traceback" not in out.stderr


def test_an_unwritable_onnx_folder_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ACCORD_ONNX_DIR", str(blocker / "onnx"))
    with pytest.raises(ModelUnavailable, match="cannot write the ONNX query model to .*ACCORD_ONNX_DIR"):
        SentenceTransformerEncoder(default_model())


def _passages() -> list[str]:
    from bot.build import index_text
    from bot.passages import split_corpus
    from bot.texts import read_corpus
    return [index_text(p) for p in split_corpus(read_corpus(REPO / "corpus")[0])][:24]


def test_bf16_builds_make_the_fp32_vectors(real_encoder):
    """Builds may embed in bfloat16 (2x faster where the CPU has it): answers must not move."""
    texts = _passages()
    fp32 = SentenceTransformerEncoder(default_model(), precision="fp32")
    fp32._model = real_encoder.model       # the same weights; only the arithmetic differs
    bf16 = SentenceTransformerEncoder(default_model(), precision="bf16")
    bf16._model = real_encoder.model
    exact = fp32.encode(texts)
    assert np.array_equal(exact, real_encoder.model.encode(texts, normalize_embeddings=True))
    fast = bf16.encode(texts)
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert float((fast * exact).sum(1).min()) > 0.9999
    assert bf16.precision == "bf16" and fp32.precision == "fp32"


def test_build_records_its_precision(real_index, real_encoder):
    from bot.encoder import native_bf16
    manifest = json.loads((real_index / "current" / "manifest.json").read_text())
    assert manifest["model"]["precision"] == real_encoder.precision
    assert real_encoder.precision == ("bf16" if native_bf16() else "fp32")   # auto, the default


def test_unknown_precision_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ACCORD_BUILD_PRECISION", "fp8")
    with pytest.raises(ModelUnavailable, match="ACCORD_BUILD_PRECISION='fp8': use one of auto"):
        SentenceTransformerEncoder(default_model())
