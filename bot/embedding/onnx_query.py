"""Question embeddings through ONNX Runtime: the default query path, about 2x faster than torch.

The model's transformer is exported once with torch.onnx (no hub), optionally quantised to int8
weights (onnxruntime's dynamic quantisation), and cached under ACCORD_ONNX_DIR (default
~/.cache/accord/onnx). Tokenising (the folder's tokenizer.json, through `tokenizers`), mean
pooling and normalisation are done here, so a process that only answers questions never loads
torch or the torch weights. Only folders whose pipeline is exactly transformer, mean pooling and
optionally normalisation qualify (`unsupported` says why another does not); passages are always
embedded by the PyTorch model. fp32 vectors equal torch's to within float rounding (cosine
>= 0.9999998); int8 ones do not (docs/performance.md)."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
MEAN_POOLING = "sentence_transformers.models.Pooling"


def cache_dir(configured: str | Path | None = None) -> Path:
    """ONNX_DIR (`configured`, from the settings) when set, else ~/.cache/accord/onnx."""
    return Path(configured or Path.home() / ".cache" / "accord" / "onnx")


def _key(model_path: str) -> str:
    from .model_install import model_checksum
    weights = Path(model_path) / "model.safetensors"
    # An installed model's checksum changes with any byte of it (a reinstall at the same path).
    seed = f"{model_path}:{weights.stat().st_size if weights.exists() else 0}"
    checksum = model_checksum(model_path)
    seed += f":{checksum}" if checksum else ""
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def unsupported(model_path: str) -> str | None:
    """Why this model cannot be embedded here (None: it can): it must be a local
    sentence-transformers folder of transformer + mean pooling (+ normalise)."""
    folder = Path(model_path)
    try:
        modules = _read_json(folder / "modules.json")
        if not (folder / "tokenizer.json").is_file():
            return "the folder has no tokenizer.json"
        kinds = [m["type"] for m in modules]
        if kinds[:2] != ["sentence_transformers.models.Transformer", MEAN_POOLING] or \
                kinds[2:] not in ([], ["sentence_transformers.models.Normalize"]):
            return f"its modules are {', '.join(k.rsplit('.', 1)[-1] for k in kinds)}"
        pooling = _read_json(folder / modules[1]["path"] / "config.json")
    except (OSError, ValueError, KeyError, TypeError):
        return "it is not a local sentence-transformers folder"
    if not pooling.get("pooling_mode_mean_tokens") or any(
            v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"):
        return "its pooling is not mean pooling"
    return None


def dimension(model_path: str) -> int:
    """The embedding dimension of a supported folder, read from its pooling config."""
    modules = _read_json(Path(model_path) / "modules.json")
    return int(_read_json(Path(model_path) / modules[1]["path"] / "config.json")["word_embedding_dimension"])


def max_length(model_path: str) -> int:
    try:
        return int(_read_json(Path(model_path) / "sentence_bert_config.json")["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256


def export(load_model: Callable[[], Any], model_path: str, quantize: bool,
           onnx_dir: str | Path | None = None) -> Path:
    """The .onnx file for this model, exported (and quantised) on first use under `onnx_dir`
    (ONNX_DIR). `load_model` gives the sentence-transformers model; it is called only when the
    file must be made."""
    folder = cache_dir(onnx_dir) / _key(model_path)
    plain, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    try:
        return _export(load_model, folder, plain, int8, quantize)
    except OSError as exc:
        from ..errors import ModelUnavailable
        raise ModelUnavailable(f"cannot write the ONNX query model to {folder}: "
                               f"{exc.strerror or exc}; set ACCORD_ONNX_DIR to a writable folder "
                               "(or ACCORD_QUERY_BACKEND=torch)") from None


def _export(load_model: Callable[[], Any], folder: Path, plain: Path, int8: Path,
            quantize: bool) -> Path:
    if not plain.exists():
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        st_model = load_model()
        transformer = st_model[0].auto_model
        enc = st_model.tokenizer(["an example question"], return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]

        class TokenEmbeddings(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer

            def forward(self, *args):
                return self.inner(**dict(zip(names, args))).last_hidden_state

        # Workers starting together may all export: each writes its own file, the rename is atomic.
        tmp = plain.with_suffix(f".{os.getpid()}.tmp")
        # The tracer's warnings are about control flow a fixed-shape trace might miss; the axes
        # that vary (batch, tokens) are declared dynamic, and the vectors are checked in tests.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(TokenEmbeddings().eval(), tuple(enc[n] for n in names), str(tmp),
                              input_names=names, output_names=["token_embeddings"],
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names}
                              | {"token_embeddings": {0: "batch", 1: "tokens"}},
                              opset_version=17, dynamo=False)
        os.replace(tmp, plain)
    if quantize and not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = int8.with_suffix(f".{os.getpid()}.tmp")
        quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8)
        os.replace(tmp, int8)
    return int8 if quantize else plain


class OnnxQueryEncoder:
    """encode_query(text) -> unit vector, through ONNX Runtime on one thread."""

    def __init__(self, model_path: str, load_model: Callable[[], Any], quantize: bool = False,
                 threads: int = 1, onnx_dir: str | Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = export(load_model, model_path, quantize, onnx_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        # The same truncation as the sentence-transformers model; one text needs no padding.
        self._tokenizer.enable_truncation(max_length(model_path))
        self._tokenizer.no_padding()
        self.path = path

    def encode_query(self, text: str) -> np.ndarray:
        enc = self._tokenizer.encode(text)
        feed = {"input_ids": np.asarray([enc.ids], dtype=np.int64),
                "attention_mask": np.asarray([enc.attention_mask], dtype=np.int64),
                "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64)}
        tokens = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0][0]
        pooled = tokens.mean(0)  # one unpadded text: every token counts
        pooled /= max(float(np.linalg.norm(pooled)), 1e-12)
        return pooled.astype(np.float32)
