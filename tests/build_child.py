"""A build or an admin change run in a child process, so tests can SIGKILL it: it prints each
stage and lingers there.

    python -m tests.build_child CORPUS INDEX            a full build
    python -m tests.build_child CORPUS INDEX change     corpus.update: replace, add and remove
    python -m tests.build_child CORPUS INDEX api        the same replace and add through
                                                        POST /api/documents
"""
import sys
import time
from pathlib import Path

from bot.index.build import build_index
from tests.fakes import FakeEncoder

# What the "change" and "api" modes do to the corpus the test made.
REPLACED = "small-doc"
REPLACEMENT = "Hong Kong and Chongqing opened a joint office for green finance in 2025."
ADDED = "later"
ADDED_TEXT = "A later text about Chongqing and Hong Kong youths meeting in Shanghai."
REMOVED = "extra"   # a file the test adds (and builds) first


class SlowEncoder(FakeEncoder):
    def encode(self, texts, batch_size=64, progress=False):
        time.sleep(0.05)
        return super().encode(texts)


def announce(stage: str) -> None:
    print(stage, flush=True)
    time.sleep(0.5)   # the parent kills while we are here


def change(corpus: Path, index: Path) -> None:
    from bot.index.changes import from_json, update
    update(corpus, index, SlowEncoder(), on_stage=announce, remove=[REMOVED],
           add=[from_json({"id": REPLACED, "text": REPLACEMENT}),
                from_json({"id": ADDED, "text": ADDED_TEXT}, 1)])


def api(corpus: Path, index: Path) -> None:
    from bot.index import changes as corpus_module
    from bot import create_app
    real_update = corpus_module.update

    def announcing_update(*args, on_stage=None, **kwargs):
        def both(stage):
            announce(stage)
            if on_stage:
                on_stage(stage)
        return real_update(*args, on_stage=both, **kwargs)

    # The admin endpoint calls corpus.update: announce its stages too.
    corpus_module.update = announcing_update
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(index),
                      "ENCODER": SlowEncoder(), "ADMIN_TOKEN": "adm1n",
                      "ADMIN_RATE_LIMIT": "1000/minute"})
    reply = app.test_client().post("/api/documents", headers={"Authorization": "Bearer adm1n"},
                                   json={"documents": [{"id": REPLACED, "text": REPLACEMENT},
                                                       {"id": ADDED, "text": ADDED_TEXT}]})
    print("status", reply.status_code, flush=True)
    while reply.status_code == 202 and reply.get_json().get("status") == "running":
        time.sleep(0.2)   # the change goes on in a job thread: stay alive until it ends
        reply = app.test_client().get(reply.headers["Location"],
                                      headers={"Authorization": "Bearer adm1n"})


if __name__ == "__main__":
    corpus_dir, index_dir = Path(sys.argv[1]), Path(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "build"
    if mode == "change":
        change(corpus_dir, index_dir)
    elif mode == "api":
        api(corpus_dir, index_dir)
    else:
        build_index(corpus_dir, index_dir, SlowEncoder(), full=True, on_stage=announce)
    print("finished", flush=True)
