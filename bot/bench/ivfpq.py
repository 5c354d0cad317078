"""Recall of compressed vector indexes (IVF-PQ, OPQ+IVF-PQ, optionally re-ranked by fp16 or
float32 vectors) against exact search on synthetic clustered vectors, for docs/scaling.md.

Usage: python -m bot.bench.ivfpq --n 1000000 [--dim 384] [--queries 500] [--refine 4,10]
       [--refine-with fp16|flat] [--nprobes 16,32,64] [--k 10] [--threads 1] [--json OUT]"""
from __future__ import annotations

import argparse
import json
import time

import faiss
import numpy as np

CLUSTERS = 20_000        # topics: passages gather around them as real ones do
NOISE = 0.45             # as bot/bench/synth_index.py: norm of the noise added to a topic
TRAIN = 100_000
REFINE_BYTES = {"fp16": 2, "flat": 4}    # bytes a dimension of the re-ranking vectors


def clustered(rng: np.random.Generator, n: int, dim: int, centers: np.ndarray) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picked = centers[rng.integers(0, len(centers), m)]
        block = picked + rng.normal(0, NOISE / np.sqrt(dim), (m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _refiner(dim: int, kind: str, xb: np.ndarray) -> faiss.Index:
    if kind == "fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16,
                                           faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(xb)
    return index


def measure(n: int, dim: int = 384, queries: int = 500,
            specs: str = "IVF{nlist},PQ48;OPQ48,IVF{nlist},PQ48;IVF{nlist},PQ96",
            nprobes: tuple[int, ...] = (16, 32, 64), refine: tuple[int, ...] = (),
            refine_with: str = "fp16", nlist: int | None = None, k: int = 10) -> list[dict]:
    """One row per spec, nprobe and re-ranking (k_factor 0: the compressed codes alone): recall@k
    against exact search (the bot asks for 200 and ranks the top 50)."""
    rng = np.random.default_rng(7)
    centers = rng.normal(0, 1, (CLUSTERS, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    xb = clustered(rng, n, dim, centers)
    # A question lands near a passage, not on it.
    xq = xb[rng.integers(0, n, queries)] + rng.normal(
        0, 0.3 / np.sqrt(dim), (queries, dim)).astype(np.float32)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(dim)
    flat.add(xb)
    _, truth = flat.search(xq, k)
    del flat
    nlist = nlist or int(4 * np.sqrt(n))
    # The re-ranking vectors are the same for every spec: added once.
    refiner = _refiner(dim, refine_with, xb) if refine else None
    results = []
    for spec in specs.split(";"):
        spec = spec.format(nlist=nlist)
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        if hasattr(ivf, "do_polysemous_training"):
            # The factory's default: it reorders the codes for Hamming-distance search, which is
            # not used here, and takes minutes; the distances and so the recall are the same.
            ivf.do_polysemous_training = False
        t = time.perf_counter()
        index.train(xb[rng.choice(n, min(TRAIN, n), replace=False)])
        trained = time.perf_counter() - t
        t = time.perf_counter()
        index.add(xb)
        added = time.perf_counter() - t
        searchers = [(0, index)]
        if refiner is not None:
            refined = faiss.IndexRefine(index, refiner)
            searchers += [(k_factor, refined) for k_factor in refine]
        for nprobe in nprobes:
            ivf.nprobe = nprobe
            for k_factor, searcher in searchers:
                if k_factor:
                    searcher.k_factor = k_factor
                t = time.perf_counter()
                _, found = searcher.search(xq, k)
                ms = (time.perf_counter() - t) * 1000 / queries
                recall = float(np.mean([len(set(f) & set(g)) / k for f, g in zip(found, truth)]))
                row = {"spec": spec, "n": n, "nprobe": nprobe, f"recall@{k}": round(recall, 3),
                       "ms_per_query": round(ms, 2), "bytes_per_vector": ivf.code_size,
                       "refine": refine_with if k_factor else None, "k_factor": k_factor,
                       "refine_bytes_per_vector": k_factor and REFINE_BYTES[refine_with] * dim,
                       "train_s": round(trained, 1), "add_s": round(added, 1)}
                results.append(row)
                print(json.dumps(row), flush=True)
    return results


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--specs", default="IVF{nlist},PQ48;OPQ48,IVF{nlist},PQ48;IVF{nlist},PQ96")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--nprobes", type=_ints, default=(16, 32, 64))
    ap.add_argument("--refine", type=_ints, default=(),
                    help="k_factors to re-rank with (4,10: the top 40 / 100 at k=10); default none")
    ap.add_argument("--refine-with", choices=sorted(REFINE_BYTES), default="fp16")
    # One thread leaves the other cores to whatever else is measured on the machine.
    ap.add_argument("--threads", type=int, default=None, help="faiss threads (default: all cores)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    results = measure(args.n, args.dim, args.queries, args.specs, args.nprobes, args.refine,
                      args.refine_with, k=args.k)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
