"""A synthetic corpus of any size made from the real texts' sentences, for build and load figures.

Usage: python -m bot.bench.synth_corpus OUT_DIR --passages 20000 [--corpus corpus] [--seed 7]"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

from ..corpus.passages import split_sentences
from ..corpus.reading import read_corpus

SENTENCES_PER_PARAGRAPH = (2, 4)
PARAGRAPHS_PER_DOC = 10


def real_sentences(corpus_dir: Path) -> list[str]:
    docs, _ = read_corpus(corpus_dir)
    return [s for d in docs for b in d.blocks if not b.heading for s in split_sentences(b.text)]


def _mark(sentence: str, ref: str) -> str:
    end = sentence[-1] if sentence[-1] in ".!?" else ""
    return f"{sentence[:len(sentence) - len(end)]} (ref {ref}){end or '.'}"


def write_corpus(out: Path, passages: int, corpus_dir: Path = Path("corpus"), seed: int = 7) -> int:
    """Write documents of real sentences (shuffled, numbered so every text is new) until about
    `passages` passages; returns the number of documents written."""
    rng = random.Random(seed)
    pool = real_sentences(corpus_dir)
    out.mkdir(parents=True, exist_ok=True)
    docs = max(1, passages // PARAGRAPHS_PER_DOC)
    for n in range(docs):
        paragraphs = []
        for p in range(PARAGRAPHS_PER_DOC):
            picked = rng.sample(pool, rng.randint(*SENTENCES_PER_PARAGRAPH))
            # A marker in every sentence keeps texts distinct, as real new reports would be.
            paragraphs.append(" ".join(_mark(s, f"{n}.{p}.{i}") for i, s in enumerate(picked)))
        date = f"20{rng.randint(10, 24):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        (out / f"synthetic-{n:06d}.md").write_text(
            f'---\ntitle: "Synthetic report {n}"\ndate: {date}\nsource: "Synthetic archive"\n---\n'
            + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--passages", type=int, default=20000)
    ap.add_argument("--corpus", type=Path, default=Path("corpus"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(f"wrote {write_corpus(args.out, args.passages, args.corpus, args.seed)} documents to {args.out}")


if __name__ == "__main__":
    main()
