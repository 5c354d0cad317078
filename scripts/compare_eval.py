"""Byte-identical check for a change meant to keep behaviour: every reply of the eval question sets, before and after.

    scripts/compare_eval.py run --before REF [--after DIR]   # snapshot REF (git archive) and DIR, compare
    scripts/compare_eval.py snapshot OUT.json [--tree DIR]    # replies of the code in DIR
    scripts/compare_eval.py compare A.json B.json             # exit 1 and show the first differences

Each set gets a fresh index built by that tree's `accord build` with the default model; each question's
reply (always with citations, as `accord eval` asks) and `accord eval --json`'s scores are recorded,
timings (`took_ms`, `p50_ms`) aside.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# (name, question file, corpus folder)
SETS = [
    ("dev", SHARED / "eval" / "dev.jsonl", SHARED / "corpus"),
    ("dev_zh", SHARED / "eval" / "dev_zh.jsonl", SHARED / "corpus"),
    ("generalization", REPO / "eval" / "generalization.jsonl", SHARED / "corpus"),
    ("corpus2", REPO / "eval" / "corpus2.jsonl", REPO / "eval" / "corpus2"),
]
TIMINGS = {"took_ms", "p50_ms"}

# Run inside the tree under test; imports work before and after the package re-layout.
CHILD = r"""
import json, sys, tempfile
from pathlib import Path
from bot.cli import cli, _encoder
try:
    from bot.qa.engine import Bot
    from bot.qa.evaluation import load_questions, score
except ImportError:
    from bot.engine import Bot
    from bot.evaluation import load_questions, score

import click
sets, timings = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
with click.Context(cli):   # the command line's encoder reads its settings from the context
    encoder = _encoder(None)
out, built = {}, {}
for name, questions, corpus in sets:
    if corpus not in built:
        index = Path(tempfile.mkdtemp(prefix="compare-eval-")) / "index"
        cli.main(["build", "--corpus", corpus, "--index", str(index), "--quiet"], standalone_mode=False)
        built[corpus] = index
    bot = Bot.open(built[corpus], encoder)
    rows = load_questions(Path(questions))
    replies = []
    for row in rows:
        reply = bot.ask(row["question"], row.get("history", []), k=5, always_cite=True)
        replies.append({"id": row["id"], **{k: v for k, v in reply.items() if k not in timings}})
    scores = {k: v for k, v in score(bot, rows, 5).items() if k not in timings}
    out[name] = {"replies": replies, "scores": scores}
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def snapshot(tree: Path, out: Path) -> None:
    """Write the replies of the code in `tree` to `out` (JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(PYTHONPATH=str(tree), HF_HUB_OFFLINE="1")
    sets = json.dumps([(n, str(q), str(c)) for n, q, c in SETS])
    done = subprocess.run([sys.executable, "-c", CHILD, sets, json.dumps(sorted(TIMINGS))],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"snapshot of {tree} failed:\n{done.stderr[-4000:]}")
    out.write_text(done.stdout.splitlines()[-1] + "\n", encoding="utf-8")


def compare(a: Path, b: Path, shown: int = 10) -> bool:
    """True when both snapshots hold the same replies and scores; prints what differs."""
    left, right = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    same = True
    for name in sorted(set(left) | set(right)):
        x, y = left.get(name), right.get(name)
        if x is None or y is None:
            print(f"{name}: only in {'the second' if x is None else 'the first'}")
            same = False
            continue
        diffs = [(r["id"], r, s) for r, s in zip(x["replies"], y["replies"]) if r != s]
        if len(x["replies"]) != len(y["replies"]):
            print(f"{name}: {len(x['replies'])} replies vs {len(y['replies'])}")
            same = False
        for qid, r, s in diffs[:shown]:
            keys = sorted(k for k in set(r) | set(s) if r.get(k) != s.get(k))
            print(f"{name} {qid}: differs in {keys}")
        if diffs or x["scores"] != y["scores"]:
            same = False
        if x["scores"] != y["scores"]:
            print(f"{name}: scores differ: {x['scores']} vs {y['scores']}")
        print(f"{name}: {len(x['replies'])} replies, {len(diffs)} differ; scores "
              f"{'identical' if x['scores'] == y['scores'] else 'DIFFER'}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--tree", type=Path, default=REPO)
    comp = sub.add_parser("compare")
    comp.add_argument("a", type=Path)
    comp.add_argument("b", type=Path)
    run = sub.add_parser("run")
    run.add_argument("--before", required=True, help="a git ref of this repository")
    run.add_argument("--after", type=Path, default=REPO)
    run.add_argument("--keep", type=Path, default=None, help="folder to keep both snapshots in")
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.tree, args.out)
    elif args.command == "compare":
        sys.exit(0 if compare(args.a, args.b) else 1)
    else:
        work = Path(tempfile.mkdtemp(prefix="compare-eval-"))
        keep = args.keep or work
        keep.mkdir(parents=True, exist_ok=True)
        before = work / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=REPO, capture_output=True,
                                 check=True).stdout
        archive_path = work / "before.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(before, filter="data")
        snapshot(before, keep / "before.json")
        snapshot(args.after, keep / "after.json")
        sys.exit(0 if compare(keep / "before.json", keep / "after.json") else 1)


if __name__ == "__main__":
    main()
