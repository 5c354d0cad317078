"""Passages on disk in a layout that is memory-mapped, not parsed: one UTF-8 blob of strings and
numpy arrays of offsets into it, so that every process of a server shares the same pages and
loading a million passages costs no Python objects until a passage is read.

Files (in the folder `passages/` of an index version):
  strings.bin         UTF-8 bytes of every string field, back to back
  offsets.npy         int64 (n * 4 + 1,): passage i's field j is strings[off[4i+j]:off[4i+j+1]]
                      (fields: id, section, context, text)
  doc_strings.bin     the same for documents (fields: doc_id, title, source, date)
  doc_offsets.npy
  doc_row.npy         int32 (n,): the document of each passage
  sentence_start.npy  int64 (n + 1,): passage i's sentences are spans[start[i]:start[i+1]]
  spans.npy           int32 (sentences, 2): [start, end) character offsets into the text
  pages.npy           int32 (n, 2): PDF page and last page of each passage, 0 for none
                      (absent in versions built before PDFs were read: no pages)"""
from __future__ import annotations

import mmap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from ..cache import BytesLRU, budget
from ..corpus.passages import Passage

FOLDER = "passages"
PASSAGE_FIELDS = ("id", "section", "context", "text")
DOC_FIELDS = ("doc_id", "title", "source", "date")


def _write_strings(path_blob: Path, path_offsets: Path, rows: Iterable[Sequence[str]]) -> None:
    offsets = [0]
    with open(path_blob, "wb") as f:
        pos = 0
        for row in rows:
            for value in row:
                data = value.encode("utf-8")
                f.write(data)
                pos += len(data)
                offsets.append(pos)
    np.save(path_offsets, np.asarray(offsets, dtype=np.int64))


def write(folder: Path, passages: Sequence[Passage]) -> None:
    """Save passages in the memory-mappable layout."""
    out = folder / FOLDER
    out.mkdir(exist_ok=True)
    docs: dict[str, int] = {}
    doc_meta: list[tuple[str, str, str, str]] = []
    doc_row = np.empty(len(passages), dtype=np.int32)
    for i, p in enumerate(passages):
        if p.doc_id not in docs:
            docs[p.doc_id] = len(doc_meta)
            doc_meta.append((p.doc_id, p.title, p.source, p.date))
        doc_row[i] = docs[p.doc_id]
    _write_strings(out / "strings.bin", out / "offsets.npy",
                   ((p.id, p.section, p.context, p.text) for p in passages))
    _write_strings(out / "doc_strings.bin", out / "doc_offsets.npy", doc_meta)
    np.save(out / "doc_row.npy", doc_row)
    counts = np.fromiter((len(p.sentences) for p in passages), dtype=np.int64, count=len(passages))
    np.save(out / "sentence_start.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    spans = np.asarray([span for p in passages for span in p.sentences], dtype=np.int32)
    np.save(out / "spans.npy", spans.reshape(-1, 2))
    pages = np.asarray([(p.page or 0, p.page_end or 0) for p in passages], dtype=np.int32)
    np.save(out / "pages.npy", pages.reshape(-1, 2))


def write_arrays(folder: Path, strings: bytes, offsets: np.ndarray, doc_strings: bytes,
                 doc_offsets: np.ndarray, doc_row: np.ndarray, sentence_start: np.ndarray,
                 spans: np.ndarray) -> None:
    """Save already laid-out arrays (the benchmark's synthetic corpora use this)."""
    out = folder / FOLDER
    out.mkdir(exist_ok=True)
    (out / "strings.bin").write_bytes(strings)
    (out / "doc_strings.bin").write_bytes(doc_strings)
    np.save(out / "offsets.npy", offsets.astype(np.int64))
    np.save(out / "doc_offsets.npy", doc_offsets.astype(np.int64))
    np.save(out / "doc_row.npy", doc_row.astype(np.int32))
    np.save(out / "sentence_start.npy", sentence_start.astype(np.int64))
    np.save(out / "spans.npy", spans.astype(np.int32).reshape(-1, 2))


class _Blob:
    """Read-only memory map of a file (an empty file is an empty blob)."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def get(self, a: int, b: int) -> str:
        return self._map[a:b].decode("utf-8")


def _load(path: Path) -> np.ndarray:
    """A .npy file memory-mapped read-only, as a plain ndarray (no memmap overhead per slice)."""
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))


class PassageStore(Sequence):
    """The passages of an index version, read from the memory-mapped files on demand."""

    def __init__(self, folder: Path) -> None:
        base = folder / FOLDER
        self._strings = _Blob(base / "strings.bin")
        self._offsets = _load(base / "offsets.npy")
        self._doc_strings = _Blob(base / "doc_strings.bin")
        self._doc_offsets = _load(base / "doc_offsets.npy")
        self.doc_row = _load(base / "doc_row.npy")
        self.sentence_start = _load(base / "sentence_start.npy")
        self.spans = _load(base / "spans.npy")
        n = len(self.doc_row)
        self.pages = _load(base / "pages.npy") if (base / "pages.npy").exists() \
            else np.zeros((n, 2), dtype=np.int32)
        if (len(self._offsets) != n * len(PASSAGE_FIELDS) + 1 or len(self.sentence_start) != n + 1
                or len(self._doc_offsets) % len(DOC_FIELDS) != 1
                or (n and int(self.doc_row.max()) >= self.documents())
                or int(self.sentence_start[-1]) != len(self.spans) or len(self.pages) != n):
            raise ValueError("passage files disagree")
        # Bounded in bytes: one long passage must not weigh like a short one (bot/cache.py).
        self._passages = BytesLRU(budget(0.2))

    def __len__(self) -> int:
        return len(self.doc_row)

    def documents(self) -> int:
        return (len(self._doc_offsets) - 1) // len(DOC_FIELDS)

    def field(self, i: int, name: str) -> str:
        j = i * len(PASSAGE_FIELDS) + PASSAGE_FIELDS.index(name)
        return self._strings.get(int(self._offsets[j]), int(self._offsets[j + 1]))

    def doc(self, d: int) -> tuple[str, ...]:
        base = d * len(DOC_FIELDS)
        off = self._doc_offsets[base:base + len(DOC_FIELDS) + 1].tolist()
        return tuple(self._doc_strings.get(off[k], off[k + 1]) for k in range(len(DOC_FIELDS)))

    def _read(self, i: int) -> Passage:
        base = i * len(PASSAGE_FIELDS)
        off = self._offsets[base:base + len(PASSAGE_FIELDS) + 1].tolist()
        pid, section, context, text = (self._strings.get(off[k], off[k + 1])
                                       for k in range(len(PASSAGE_FIELDS)))
        doc_id, title, source, date = self.doc(int(self.doc_row[i]))
        a, b = int(self.sentence_start[i]), int(self.sentence_start[i + 1])
        sentences = [(int(s), int(e)) for s, e in self.spans[a:b].tolist()]
        page, page_end = (int(x) for x in self.pages[i])
        return Passage(id=pid, doc_id=doc_id, title=title, source=source, date=date,
                       section=section, text=text, sentences=sentences, context=context,
                       page=page or None, page_end=page_end or None)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._passages.get(i, lambda: self._read(i))

    def __iter__(self) -> Iterator[Passage]:
        for i in range(len(self)):
            yield self._read(i)

    def filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray:
        """Boolean mask of the passages whose document passes the filters (decided per
        document, then spread to its passages with one numpy gather)."""
        docs = np.ones(self.documents(), dtype=bool)
        for d in range(self.documents()):
            docs[d] = doc_passes(*self.doc(d), filters)
        return docs[self.doc_row]


def doc_passes(doc_id: str, title: str, source: str, date: str, filters: Mapping[str, Any]) -> bool:
    """The filter rules of POST /api/ask (source ignores case; dates compare as ISO text)."""
    if "source" in filters and source.lower() != str(filters["source"]).lower():
        return False
    if "doc_id" in filters and doc_id != filters["doc_id"]:
        return False
    if "date_from" in filters and date < str(filters["date_from"]):
        return False
    if "date_to" in filters and date > str(filters["date_to"]):
        return False
    return True
