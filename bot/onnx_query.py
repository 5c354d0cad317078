"""An ONNX Runtime path for question embeddings (optional: `pip install onnxruntime onnx`).

The model is exported once from the sentence-transformers model in use (torch.onnx, no hub),
optionally quantised to int8 weights (onnxruntime's dynamic quantisation), and cached under
ACCORD_ONNX_DIR (default ~/.cache/accord/onnx). Pooling and normalisation follow the model's
own config (mean pooling for all-MiniLM-L6-v2). Passages are always embedded by the PyTorch
model; only questions go through here, and only when ACCORD_QUERY_BACKEND asks for it,
because the int8 vectors are close to, not equal to, the PyTorch ones (docs/performance.md)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")


def cache_dir() -> Path:
    return Path(os.environ.get("ACCORD_ONNX_DIR") or Path.home() / ".cache" / "accord" / "onnx")


def _key(model_path: str) -> str:
    weights = Path(model_path) / "model.safetensors"
    seed = f"{model_path}:{weights.stat().st_size if weights.exists() else 0}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def export(st_model: Any, model_path: str, quantize: bool) -> Path:
    """The .onnx file for this model (exported and quantised on first use)."""
    import torch

    folder = cache_dir() / _key(model_path)
    folder.mkdir(parents=True, exist_ok=True)
    plain, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    if not plain.exists():
        transformer = st_model[0].auto_model
        enc = st_model.tokenizer(["an example question"], return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]

        class TokenEmbeddings(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer

            def forward(self, *args):
                return self.inner(**dict(zip(names, args))).last_hidden_state

        tmp = plain.with_suffix(f".{os.getpid()}.tmp")
        with torch.no_grad():
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

    def __init__(self, st_model: Any, model_path: str, quantize: bool = True,
                 threads: int = 1) -> None:
        import onnxruntime as ort

        path = export(st_model, model_path, quantize)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = st_model.tokenizer
        self._max_len = int(getattr(st_model, "max_seq_length", 256) or 256)
        self.path = path

    def encode_query(self, text: str) -> np.ndarray:
        enc = self._tokenizer([text], truncation=True, max_length=self._max_len,
                              return_tensors="np")
        feed = {k: np.asarray(v, dtype=np.int64) for k, v in enc.items() if k in self._inputs}
        tokens = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (tokens * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled[0].astype(np.float32)
