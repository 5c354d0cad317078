"""The one settings table: every setting documented, handed down by the app, read nowhere else."""
import ast
from pathlib import Path

import pytest

from bot.service import KEY, settings_of
from bot.settings import SETTINGS, Settings, load

ROOT = Path(__file__).resolve().parents[2]
# Who may read the process environment, and why: the settings module (the one table), the
# command line and the gunicorn config (the top), prometheus_client's own multiprocess
# variable (web/metrics), the encoder's defaults for the Hugging Face libraries' own variables,
# and the benchmark, which starts servers with an environment of its choosing.
MAY_READ_ENVIRONMENT = {"bot/settings.py", "bot/cli.py", "bot/gunicorn_conf.py", "bot/web/metrics.py",
                        "bot/embedding/encoder.py", "bot/bench/__init__.py", "bot/bench/load.py"}


def test_every_setting_is_documented():
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs" / "operations.md").read_text()
    missing = [s.envvar for s in SETTINGS if f"`{s.envvar}`" not in docs]
    assert missing == []


def test_only_the_top_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(name)
    assert sorted(set(readers) - MAY_READ_ENVIRONMENT) == []


# Packages below the composition root (bot/__init__.py, bot/cli.py, bot/service.py,
# bot/startup.py): they are handed the settings object, or values from it, and read none.
HANDED_DOWN = ("corpus", "index", "embedding", "qa", "feedback", "bench")


def _reads_settings(tree: ast.AST) -> list[str]:
    """What in a module reads the environment through the settings table: settings.resolve /
    is_set calls, and imports of them."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("settings"):
            found += [a.name for a in node.names if a.name in ("resolve", "is_set", "from_environment")]
        if isinstance(node, ast.Attribute) and node.attr in ("resolve", "is_set", "from_environment") \
                and isinstance(node.value, ast.Name) and node.value.id == "settings":
            found.append(node.attr)
    return found


def test_no_module_below_the_top_reads_the_settings_itself():
    readers = {}
    for package in HANDED_DOWN:
        for path in sorted((ROOT / "bot" / package).rglob("*.py")):
            got = _reads_settings(ast.parse(path.read_text(encoding="utf-8")))
            if got:
                readers[path.relative_to(ROOT).as_posix()] = got
    assert readers == {}


def test_the_settings_object_is_read_once_and_cannot_change(monkeypatch):
    monkeypatch.setenv("ACCORD_MAX_SENTENCE_CHARS", "120")
    settings = load({"QUERY_CACHE": 0})
    monkeypatch.setenv("ACCORD_MAX_SENTENCE_CHARS", "999")      # too late: it was read
    assert settings["MAX_SENTENCE_CHARS"] == 120 and settings["QUERY_CACHE"] == 0
    assert settings["MAX_PASSAGE_CHARS"] == 2000                 # the table's default
    assert {"MAX_SENTENCE_CHARS", "QUERY_CACHE"} <= settings.explicit
    assert "MAX_PASSAGE_CHARS" not in settings.explicit
    with pytest.raises(TypeError):
        settings["QUERY_CACHE"] = 1   # type: ignore[index]
    with pytest.raises(AttributeError):
        settings.explicit = frozenset()   # type: ignore[misc]
    assert settings.replace(QUERY_CACHE=1)["QUERY_CACHE"] == 1 and settings["QUERY_CACHE"] == 0
    assert isinstance(settings, Settings)


def test_create_app_with_query_cache_0_disables_the_query_cache(make_app, fake_encoder, monkeypatch):
    """Asked twice, the same question is embedded twice with QUERY_CACHE 0, once by default."""
    embedded = []
    encode = fake_encoder.encode
    monkeypatch.setattr(fake_encoder, "encode", lambda texts, **kw: embedded.extend(texts) or encode(texts, **kw))
    for cache, times in ((0, 2), (1, 1)):
        client = make_app(QUERY_CACHE=cache).test_client()
        embedded.clear()
        for _ in range(2):
            assert client.post("/api/ask", json={"question": "Where is Hong Kong?"}).status_code == 200
        assert embedded.count("Where is Hong Kong?") == times, cache


def test_an_environment_limit_reaches_passage_splitting_through_the_apps_settings(
        monkeypatch, corpus_dir, index_dir, fake_encoder):
    """ACCORD_MAX_SENTENCE_CHARS set before create_app bounds the sentences of a document added
    through the admin API: read into the app's settings object, handed to the build."""
    from bot import create_app

    monkeypatch.setenv("ACCORD_MAX_SENTENCE_CHARS", "60")
    app = create_app({"TESTING": True, "CORPUS_DIR": str(corpus_dir), "INDEX_DIR": str(index_dir),
                      "ENCODER": fake_encoder, "ADMIN_TOKEN": "adm1n",
                      "ADMIN_RATE_LIMIT": "1000/minute"})
    monkeypatch.delenv("ACCORD_MAX_SENTENCE_CHARS")       # read once: the app keeps its value
    assert settings_of(app)["MAX_SENTENCE_CHARS"] == 60
    long = "Hong Kong and Chongqing agreed " + "to work together on trade and finance " * 8 + "."
    reply = app.test_client().post("/api/documents", headers={"Authorization": "Bearer adm1n"},
                                   json={"documents": [{"id": "long-one", "text": long}]})
    assert reply.status_code == 200, reply.get_json()
    index = app.extensions[KEY].bot.index
    sentences = [p.text[a:b] for p in index.passages if p.doc_id == "long-one" for a, b in p.sentences]
    assert len(sentences) > 1 and max(map(len, sentences)) <= 60
    assert "".join(sentences).replace(" ", "") == long.replace(" ", "")   # every word kept


def test_the_apps_query_cache_setting_reaches_the_bot(make_app):
    off = make_app(QUERY_CACHE=0).extensions[KEY].bot
    on = make_app(QUERY_CACHE=1, CACHE_BYTES=1_000_000).extensions[KEY].bot
    off.embed("Where is Hong Kong?")
    assert off._cache.max_bytes == 0 and len(off._cache._data) == 0
    on.embed("Where is Hong Kong?")
    assert on._cache.max_bytes == 300_000 and len(on._cache._data) == 1
