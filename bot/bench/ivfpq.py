"""Recall of compressed vector indexes (IVF-PQ, OPQ+IVF-PQ) against exact search on synthetic
clustered vectors, for docs/scaling.md.

Usage: python -m bot.bench.ivfpq --n 1000000 [--dim 384] [--queries 500] [--json OUT]"""
from __future__ import annotations

import argparse
import json
import time

import faiss
import numpy as np

CLUSTERS = 20_000        # topics: passages gather around them as real ones do
NOISE = 0.45             # as bot/bench/synth.py: norm of the noise added to a topic vector
TRAIN = 100_000
K = 10


def clustered(rng: np.random.Generator, n: int, dim: int, centers: np.ndarray) -> np.ndarray:
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picked = centers[rng.integers(0, len(centers), m)]
        block = picked + rng.normal(0, NOISE / np.sqrt(dim), (m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--specs", default="IVF{nlist},PQ48;OPQ48,IVF{nlist},PQ48;IVF{nlist},PQ96")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    centers = rng.normal(0, 1, (CLUSTERS, args.dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    xb = clustered(rng, args.n, args.dim, centers)
    # A question lands near a passage, not on it.
    xq = xb[rng.integers(0, args.n, args.queries)] + rng.normal(
        0, 0.3 / np.sqrt(args.dim), (args.queries, args.dim)).astype(np.float32)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(xb)
    _, truth = flat.search(xq, K)
    del flat
    nlist = int(4 * np.sqrt(args.n))
    results = []
    for spec in args.specs.split(";"):
        spec = spec.format(nlist=nlist)
        index = faiss.index_factory(args.dim, spec, faiss.METRIC_INNER_PRODUCT)
        t = time.perf_counter()
        index.train(xb[rng.choice(args.n, min(TRAIN, args.n), replace=False)])
        trained = time.perf_counter() - t
        t = time.perf_counter()
        index.add(xb)
        added = time.perf_counter() - t
        ivf = faiss.extract_index_ivf(index)
        code = ivf.code_size
        for nprobe in (16, 32, 64):
            ivf.nprobe = nprobe
            t = time.perf_counter()
            _, found = index.search(xq, K)
            ms = (time.perf_counter() - t) * 1000 / args.queries
            recall = float(np.mean([len(set(f) & set(g)) / K for f, g in zip(found, truth)]))
            row = {"spec": spec, "n": args.n, "nprobe": nprobe, "recall@10": round(recall, 3),
                   "ms_per_query": round(ms, 2), "bytes_per_vector": code,
                   "train_s": round(trained, 1), "add_s": round(added, 1)}
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
