"""The one settings table: every setting documented, handed down by the app, read nowhere else."""
import ast
from pathlib import Path

from bot.service import KEY
from bot.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
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


def test_the_apps_query_cache_setting_reaches_the_bot(make_app):
    off = make_app(QUERY_CACHE=0).extensions[KEY].bot
    on = make_app(QUERY_CACHE=1, CACHE_BYTES=1_000_000).extensions[KEY].bot
    off.embed("Where is Hong Kong?")
    assert off._cache.max_bytes == 0 and len(off._cache._data) == 0
    on.embed("Where is Hong Kong?")
    assert on._cache.max_bytes == 300_000 and len(on._cache._data) == 1
