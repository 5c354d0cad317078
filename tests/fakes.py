"""A small deterministic encoder for fast tests: hashed bag of words, unit length."""
from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np


class FakeEncoder:
    name = "fake-hash-encoder"

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dimension] += 1.0
            out[i, 0] += 0.01  # never the zero vector
            out[i] /= np.linalg.norm(out[i])
        return out
