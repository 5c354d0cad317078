"""Fixtures: a tmp corpus and index with a fake encoder (fast), and the real model on the real corpus."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot import create_app
from bot.index.build import build_index

from .fakes import FakeEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED_EVAL = REPO.parent / "shared" / "eval" / "dev.jsonl"

SMALL_DOC = """---
title: "Hong Kong and Chongqing sign a memorandum"
date: 2023-05-11
source: "Test wire"
---
# Finance

Hong Kong and Chongqing agreed to strengthen exchanges between the HKEX and the Chongqing Share Transfer Center. Both sides will share investment information.

# Youth Development

Promote exchanges between Hong Kong and Chongqing youths. Support internships for Hong Kong youths in Chongqing.
"""


@pytest.fixture(scope="session", autouse=True)
def feedback_db_outside_the_repo(tmp_path_factory) -> Path:
    """Apps made by tests keep their feedback in a temporary file, not in the repo's instance/."""
    path = tmp_path_factory.mktemp("instance") / "feedback.sqlite3"
    old = os.environ.get("ACCORD_FEEDBACK_DB")
    os.environ["ACCORD_FEEDBACK_DB"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ACCORD_FEEDBACK_DB", None)
    else:
        os.environ["ACCORD_FEEDBACK_DB"] = old


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "small-doc.md").write_text(SMALL_DOC, encoding="utf-8")
    return folder


# The packaged answerability model is calibrated on the real model's cosines; the fake encoder's
# are of another scale. Fast tests judge answerability on the words alone: covered and known
# words answer, words found nowhere refuse.
FAKE_ENCODER_MODEL = {"features": ["coverage", "unknown"], "weights": [0.0, 0.0, 6.0, -6.0],
                      "intercept": -2.0, "threshold": 0.5}


@pytest.fixture
def fake_encoder(monkeypatch) -> FakeEncoder:
    from bot.qa import engine

    monkeypatch.setattr(engine, "load_model", lambda *path: dict(FAKE_ENCODER_MODEL))
    # That is the fake encoder's own fit: no "no abstention model fitted" warning for it.
    monkeypatch.setattr(engine, "model_file", lambda name: engine.MODEL_FILE)
    return FakeEncoder()


@pytest.fixture
def index_dir(tmp_path: Path, corpus_dir: Path, fake_encoder: FakeEncoder) -> Path:
    folder = tmp_path / "index"
    build_index(corpus_dir, folder, fake_encoder)
    return folder


@pytest.fixture
def app(corpus_dir: Path, index_dir: Path, fake_encoder: FakeEncoder):
    return create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                       "ENCODER": fake_encoder})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_app(corpus_dir: Path, index_dir: Path, fake_encoder: FakeEncoder, tmp_path: Path):
    """An app over the small corpus with settings of the test's choosing (and its own feedback
    database in tmp_path)."""
    def make(**config):
        base = {"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                "ENCODER": fake_encoder, "FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
        return create_app({**base, **config})
    return make


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# The real model on the real corpus, built once per test session.
REAL_MODEL_FIXTURES = {"real_encoder", "real_index", "real_bot", "real_app"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """A test that loads the real model is slow, whether or not its author said so: marked
    from the fixtures it uses, before `-m "not slow"` picks."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_encoder():
    from bot.embedding.encoder import SentenceTransformerEncoder
    from bot.settings import default_model, load
    # This machine's settings (MODEL_HOME, ONNX_DIR, QUERY_BACKEND), as `accord` would hand them.
    return SentenceTransformerEncoder(default_model(), settings=load())


# Tests of serving (load, slow clients, reload, shutdown) are not about answer quality: they pin
# the small MiniLM (servers get ACCORD_MODEL=all-MiniLM-L6-v2 from tests/servers.child_env),
# which builds and loads in a fraction of e5's time.
@pytest.fixture(scope="session")
def serving_index(tmp_path_factory) -> Path:
    from bot.embedding.encoder import SentenceTransformerEncoder
    from .servers import SERVING_MODEL
    folder = tmp_path_factory.mktemp("serving") / "index"
    corpus = tmp_path_factory.mktemp("serving-corpus") / "corpus"
    shutil.copytree(CORPUS, corpus)
    from bot.settings import load
    build_index(corpus, folder, SentenceTransformerEncoder(SERVING_MODEL, settings=load()))
    return folder


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, real_encoder) -> Path:
    folder = tmp_path_factory.mktemp("real") / "index"
    corpus = tmp_path_factory.mktemp("real-corpus") / "corpus"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, folder, real_encoder)
    return folder


@pytest.fixture(scope="session")
def real_bot(real_index, real_encoder):
    from bot.qa.engine import Bot
    return Bot.open(real_index, real_encoder)


@pytest.fixture(scope="session")
def real_app(real_index, real_encoder):
    return create_app({"TESTING": True, "CORPUS_DIR": str(CORPUS), "INDEX_DIR": str(real_index),
                       "ENCODER": real_encoder})


@pytest.fixture
def admin(corpus_dir, index_dir, fake_encoder):
    """A test client of an app with the admin API open (token `adm1n`) and roomy limits."""
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                      "ENCODER": fake_encoder, "ADMIN_TOKEN": "adm1n", "RATE_LIMIT": "1000/minute",
                      "ADMIN_RATE_LIMIT": "1000/minute"})
    return app.test_client()
