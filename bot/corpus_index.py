"""A built index loaded into memory: passages, their vectors, sentence vectors, BM25, variants."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexUnavailable
from .lexical import LexicalIndex
from .passages import Passage
from .store import REBUILD_HINT, current_dir, verify
from .vectors import VectorIndex

PASSAGES = "passages.jsonl"
VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
BM25_DIR = "bm25"
VARIANTS = "variants.json"


@dataclass
class CorpusIndex:
    folder: Path
    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: VectorIndex
    sentence_vectors: np.ndarray          # (sentences, dim), passage order then sentence order
    lexical: LexicalIndex
    variants: list[dict[str, Any]] = field(default_factory=list)
    sentence_start: np.ndarray = field(init=False)  # first sentence row of each passage

    def __post_init__(self) -> None:
        counts = [len(p.sentences) for p in self.passages]
        self.sentence_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if len(self.passages) != len(self.vectors) or self.sentence_start[-1] != len(self.sentence_vectors):
            raise IndexUnavailable(f"{self.folder}: passage, vector and sentence counts disagree; "
                                   f"{REBUILD_HINT}")

    @property
    def version(self) -> str:
        return self.manifest["version"]

    def sentence_rows(self, passage_idx: int) -> slice:
        return slice(int(self.sentence_start[passage_idx]), int(self.sentence_start[passage_idx + 1]))

    def save(self, folder: Path) -> None:
        with open(folder / PASSAGES, "w", encoding="utf-8") as f:
            for p in self.passages:
                f.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        self.vectors.save(folder / VECTORS)
        np.save(folder / SENTENCE_VECTORS, self.sentence_vectors.astype(np.float32))
        (folder / BM25_DIR).mkdir(exist_ok=True)
        self.lexical.save(folder / BM25_DIR)
        (folder / VARIANTS).write_text(json.dumps(self.variants, indent=1, ensure_ascii=False),
                                       encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> "CorpusIndex":
        """Load a folder whose files `store.verify` has already checked."""
        try:
            with open(folder / PASSAGES, encoding="utf-8") as f:
                passages = [Passage.from_dict(json.loads(line)) for line in f if line.strip()]
        except (OSError, ValueError, TypeError):
            raise IndexUnavailable(f"{folder / PASSAGES} is damaged; {REBUILD_HINT}") from None
        try:
            sentence_vectors = np.load(folder / SENTENCE_VECTORS, allow_pickle=False)
        except (OSError, ValueError):
            raise IndexUnavailable(f"{folder / SENTENCE_VECTORS} is damaged or truncated; "
                                   f"{REBUILD_HINT}") from None
        try:
            variants = json.loads((folder / VARIANTS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise IndexUnavailable(f"{folder / VARIANTS} is damaged; {REBUILD_HINT}") from None
        return cls(folder=folder, manifest=manifest, passages=passages,
                   vectors=VectorIndex.load(folder / VECTORS), sentence_vectors=sentence_vectors,
                   lexical=LexicalIndex.load(folder / BM25_DIR), variants=variants)


def open_version(folder: Path, probe: list[float] | None = None,
                 dimension: int | None = None) -> CorpusIndex:
    """One version folder, verified against its manifest and the model in use."""
    manifest = verify(folder, model_probe=probe, dimension=dimension)
    return CorpusIndex.load(folder, manifest)


def open_index(index_dir: Path, probe: list[float] | None = None,
               dimension: int | None = None) -> CorpusIndex:
    """The current version, verified against its manifest and the model in use."""
    return open_version(current_dir(index_dir), probe, dimension)
