"""Synthetic index versions of any size for `accord bench`, written straight into an index folder.

Encoding a million passages would take the model days on 2 cores, so the vectors are
synthesised, as the benchmark says in its output: each synthetic passage is a real passage of
the default corpus followed by a real sentence of another one, its vector the real embedding
of the first plus a random share of the second's plus Gaussian noise, renormalised (clustered
around the real embeddings as real corpora are around their topics, with a continuum between
them), its sentence vectors the real sentence embeddings plus noise. Texts and BM25 are the real
texts' words, so lexical search does real work. Questions stay real questions, embedded by the
real model."""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, Callable

import bm25s
import numpy as np

from ..index import passage_store
from ..index.build import index_text
from ..index.loaded import BM25_DIR, SENTENCE_VECTORS, VARIANTS, VECTORS, CorpusIndex
from ..index.bm25 import LexicalIndex, _prepare
from ..index.versions import new_version, verify
from ..index.dense import VectorIndex
from ..text.words import stemmer, stopwords

PASSAGES_PER_DOC = 100
CHUNK = 100_000
PASSAGE_NOISE = 0.45     # norm of the noise added to a unit vector
SENTENCE_NOISE = 0.35
RAW_VECTORS = "synthetic-vectors.npy"   # beside the index: the exact-search reference


def _noisy(rng: np.random.Generator, base: np.ndarray, scale: float) -> np.ndarray:
    out = base + rng.normal(0, scale / np.sqrt(base.shape[1]), base.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def synthesize(real: CorpusIndex, index_dir: Path, n: int, seed: int = 11,
               kind: str | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Write a published index version of `n` synthetic passages under `index_dir`, through
    the version transaction of `accord build`; returns timings (seconds) of the build steps
    that do not depend on the model."""
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    R = len(real.passages)
    d = real.vectors.dimension
    real_vecs = np.stack([real.vectors.reconstruct(i) for i in range(R)]).astype(np.float32)
    real_sent = np.asarray(real.sentence_vectors, dtype=np.float32)
    starts = np.asarray(real.sentence_start, dtype=np.int64)
    counts = np.diff(starts)
    passages = [real.passages[i] for i in range(R)]
    texts = [p.text for p in passages]
    sent_texts = [s for p in passages for s in p.sentence_texts()]

    base = rng.integers(0, R, n)
    partner = rng.integers(0, R, n)
    weight = rng.uniform(0.0, 0.6, n).astype(np.float32)
    extra = starts[partner] + (rng.random(n) * counts[partner]).astype(np.int64)  # a sentence row
    n_sent = counts[base] + 1
    sentence_start = np.concatenate([[0], np.cumsum(n_sent)]).astype(np.int64)
    total_sent = int(sentence_start[-1])

    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-synthetic{n}"
    # The transaction of a real build (bot/index/versions.py): written into a staging folder,
    # checked against its manifest and the real model's dimension on leaving the block, then
    # published read-only with the switch of `current`; a failure leaves no folder behind.
    with new_version(index_dir, version, check=lambda staged: verify(staged, dimension=d)) as txn:
        folder = txn.folder
        say(f"synthesising {n} passages ({total_sent} sentences): vectors")
        t = time.perf_counter()
        raw = np.lib.format.open_memmap(index_dir / RAW_VECTORS, mode="w+", dtype=np.float32, shape=(n, d))
        sents = np.lib.format.open_memmap(folder / SENTENCE_VECTORS, mode="w+", dtype=np.float32,
                                          shape=(total_sent, d))
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            raw[a:b] = _noisy(rng, real_vecs[base[a:b]] + weight[a:b, None] * real_vecs[partner[a:b]],
                              PASSAGE_NOISE)
            rows = np.concatenate([np.concatenate([np.arange(starts[x], starts[x + 1]), [e]])
                                   for x, e in zip(base[a:b], extra[a:b])])
            sents[sentence_start[a]:sentence_start[b]] = _noisy(rng, real_sent[rows], SENTENCE_NOISE)
        raw.flush()
        sents.flush()
        del sents
        timings["synthesise_vectors"] = time.perf_counter() - t

        say("synthesising passage texts")
        t = time.perf_counter()
        blob = bytearray()
        offsets = np.empty(n * 4 + 1, dtype=np.int64)
        offsets[0] = 0
        spans = np.empty((total_sent, 2), dtype=np.int32)
        enc_text = [x.encode("utf-8") for x in texts]
        enc_sent = [x.encode("utf-8") for x in sent_texts]
        sections = [p.section.encode("utf-8") for p in passages]
        pos = 0
        for i in range(n):
            bi, e = int(base[i]), int(extra[i])
            pid = f"synthetic-{i // PASSAGES_PER_DOC:06d}#{i % PASSAGES_PER_DOC}".encode()
            body = enc_text[bi] + b" " + enc_sent[e]
            for k, part in enumerate((pid, sections[bi], b"", body)):
                blob += part
                pos += len(part)
                offsets[4 * i + k + 1] = pos
            s0 = int(sentence_start[i])
            c = int(counts[bi])
            spans[s0:s0 + c] = passages[bi].sentences
            start = len(texts[bi]) + 1
            spans[s0 + c] = (start, start + len(sent_texts[e]))
        docs = (n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC
        dates = [f"20{10 + d_ % 15:02d}-{1 + d_ % 12:02d}-{1 + d_ % 28:02d}" for d_ in range(docs)]
        doc_blob = bytearray()
        doc_off = [0]
        for d_ in range(docs):
            for part in (f"synthetic-{d_:06d}", f"Synthetic report {d_}", "Synthetic archive", dates[d_]):
                doc_blob += part.encode()
                doc_off.append(len(doc_blob))
        passage_store.write_arrays(folder, bytes(blob), offsets, bytes(doc_blob), np.asarray(doc_off),
                                   (np.arange(n) // PASSAGES_PER_DOC).astype(np.int32), sentence_start,
                                   spans)
        del blob
        timings["synthesise_texts"] = time.perf_counter() - t

        say("BM25 index")
        t = time.perf_counter()
        real_lex = [index_text(p) for p in passages]
        tokenized = bm25s.tokenize(_prepare(real_lex + sent_texts), stopwords=stopwords(),
                                   stemmer=stemmer(), show_progress=False)
        ids_p, ids_s = tokenized.ids[:R], tokenized.ids[R:]
        corpus_ids = [ids_p[int(base[i])] + ids_s[int(extra[i])] for i in range(n)]
        bm25 = bm25s.BM25()
        bm25.index(bm25s.tokenization.Tokenized(ids=corpus_ids, vocab=tokenized.vocab), show_progress=False)
        del corpus_ids
        (folder / BM25_DIR).mkdir()
        LexicalIndex(bm25).save(folder / BM25_DIR)
        timings["bm25"] = time.perf_counter() - t

        say("vector index")
        t = time.perf_counter()
        vectors = VectorIndex.build(raw, kind=kind, progress=say)
        vectors.save(folder / VECTORS)
        timings["vector_index"] = time.perf_counter() - t
        (folder / VARIANTS).write_text(json.dumps(real.variants, ensure_ascii=False), encoding="utf-8")

        say("manifest (checksums)")
        t = time.perf_counter()
        documents = [{"doc_id": f"synthetic-{d_:06d}", "title": f"Synthetic report {d_}",
                      "source": "Synthetic archive", "date": dates[d_], "file": f"synthetic-{d_:06d}.md",
                      "passages": min(PASSAGES_PER_DOC, n - d_ * PASSAGES_PER_DOC), "sha256": ""}
                     for d_ in range(docs)]
        txn.write_manifest({
            "model": real.manifest["model"], "index_type": vectors.kind, "vector_index": vectors.info,
            "libraries": real.manifest.get("libraries", {}),
            "corpus": {"dir": "(synthetic)", "fingerprint": f"synthetic-{n}-{seed}",
                       "documents": documents, "skipped": []},
            "passages": n, "sentences": total_sent, "build": {"runner": "synthetic"},
            "synthetic": True,
        })
        timings["checksums"] = time.perf_counter() - t
    return {"timings": {k: round(v, 2) for k, v in timings.items()}, "vector_index": vectors.info,
            "sentences": total_sent}
