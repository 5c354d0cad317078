"""A built index version: passages, their vectors, sentence vectors, BM25, variants.

Loading maps the files read-only rather than reading them (see bot/index/passage_store.py): the
FAISS index, the sentence vectors, the passages and the BM25 arrays live in the page cache
once, shared by every process serving the version."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import passage_store
from ..errors import IndexUnavailable
from .bm25 import LexicalIndex
from .passage_store import PassageStore, doc_passes
from ..corpus.passages import Passage
from .versions import REBUILD_HINT, current_dir, verify
from .dense import VectorIndex

PASSAGES = passage_store.FOLDER
VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.npy"
BM25_DIR = "bm25"
VARIANTS = "variants.json"


@dataclass
class CorpusIndex:
    folder: Path
    manifest: dict[str, Any]
    passages: Sequence[Passage]           # a list while building, a PassageStore once loaded
    vectors: VectorIndex
    sentence_vectors: np.ndarray          # (sentences, dim), passage order then sentence order
    lexical: LexicalIndex
    variants: list[dict[str, Any]] = field(default_factory=list)
    sentence_start: np.ndarray = field(init=False)  # first sentence row of each passage
    doc_row: np.ndarray = field(init=False)         # document number of each passage

    def __post_init__(self) -> None:
        if isinstance(self.passages, PassageStore):
            self.sentence_start = self.passages.sentence_start
            self.doc_row = self.passages.doc_row
        else:
            counts = [len(p.sentences) for p in self.passages]
            self.sentence_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            ids: dict[str, int] = {}
            self.doc_row = np.asarray([ids.setdefault(p.doc_id, len(ids)) for p in self.passages],
                                      dtype=np.int32)
        if len(self.passages) != len(self.vectors) or self.sentence_start[-1] != len(self.sentence_vectors):
            raise IndexUnavailable(f"{self.folder}: passage, vector and sentence counts disagree; "
                                   f"{REBUILD_HINT}")

    @property
    def version(self) -> str:
        return self.manifest["version"]

    def sentence_rows(self, passage_idx: int) -> slice:
        return slice(int(self.sentence_start[passage_idx]), int(self.sentence_start[passage_idx + 1]))

    def filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray:
        """Which passages pass the filters of POST /api/ask."""
        if isinstance(self.passages, PassageStore):
            return self.passages.filter_mask(filters)
        return np.fromiter((doc_passes(p.doc_id, p.title, p.source, p.date, filters)
                            for p in self.passages), dtype=bool, count=len(self.passages))

    def save(self, folder: Path) -> None:
        passage_store.write(folder, self.passages)
        self.vectors.save(folder / VECTORS)
        np.save(folder / SENTENCE_VECTORS, np.asarray(self.sentence_vectors, dtype=np.float32))
        (folder / BM25_DIR).mkdir(exist_ok=True)
        self.lexical.save(folder / BM25_DIR)
        (folder / VARIANTS).write_text(json.dumps(self.variants, indent=1, ensure_ascii=False),
                                       encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> "CorpusIndex":
        """Map a folder whose files `store.verify` has already checked."""
        try:
            passages = PassageStore(folder)
        except (OSError, ValueError, TypeError):
            raise IndexUnavailable(f"{folder / PASSAGES} is damaged; {REBUILD_HINT}") from None
        try:
            sentence_vectors = np.asarray(np.load(folder / SENTENCE_VECTORS, mmap_mode="r",
                                                  allow_pickle=False))
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
