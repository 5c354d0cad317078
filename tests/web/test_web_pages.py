"""The chat page and the widget script, as served."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import bot
from bot.index.build import build_index

STATIC = Path(bot.__file__).parent / "static"
HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def test_page_loads_only_its_own_files_with_no_inline_script(client):
    reply = client.get("/")
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    tags = parse(reply.get_data(as_text=True))
    assert tags.inline_scripts == 0
    scripts = [a["src"] for t, a in tags.tags if t == "script"]
    styles = [a["href"] for t, a in tags.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert scripts and styles
    for url in scripts + styles:
        assert url.startswith("/static/"), url
        assert client.get(url).status_code == 200
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs)
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_page_lists_the_documents(client):
    html = client.get("/").get_data(as_text=True)
    assert "Hong Kong and Chongqing sign a memorandum" in html
    assert re.search(r"from 1 document\b(?!s)", html)
    chat = next(a for t, a in parse(html).tags if t == "main")
    assert chat["data-api"] == "/api/ask"


def test_document_titles_with_markup_are_escaped(tmp_path, fake_encoder):
    corpus = tmp_path / "markup"
    corpus.mkdir()
    (corpus / "markup.md").write_text(
        '---\ntitle: "Trade <img src=x onerror=alert(1)> & more"\ndate: 2024-01-01\n'
        'source: "Wire <b>bold</b>"\n---\nHong Kong and Chongqing expand trade in 2024.\n',
        encoding="utf-8")
    build_index(corpus, tmp_path / "index", fake_encoder)
    app = bot.create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index"),
                          "ENCODER": fake_encoder})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Trade &lt;img src=x onerror=alert(1)&gt; &amp; more" in html
    assert not any(t in ("img", "b") for t, _ in parse(html).tags)


def test_page_still_renders_without_an_index(tmp_path, fake_encoder):
    app = bot.create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"),
                          "ENCODER": fake_encoder})
    reply = app.test_client().get("/")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert "not ready yet" in html
    assert "accord build" not in html and "no index" not in html   # operator detail: log, health


def test_config_gives_the_api_limits_and_the_corpus_words(client):
    from bot.web import contract
    config = client.get("/api/config").get_json()
    assert config["limits"]["question_chars"] == contract.MAX_QUESTION
    assert config["limits"]["history_turns"] == contract.MAX_TURNS
    assert config["limits"]["turn_chars"] == contract.MAX_TURN_CHARS
    assert config["limits"]["k"] == contract.MAX_K
    assert config["title"] and config["greeting"] and set(config["translations"]) == {
        "zh-Hant", "zh-Hans"}
    page = client.get("/").get_data(as_text=True)
    chat = next(a for t, a in parse(page).tags if t == "main")
    assert json.loads(chat["data-config"])["limits"] == config["limits"]


def test_page_yaml_broken_or_huge_is_ignored(tmp_path, caplog):
    from bot.web.page_config import MAX_FILE_BYTES, page_texts
    (tmp_path / "page.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    docs = [{"doc_id": "a", "title": "Alpha"}]
    assert page_texts(tmp_path, docs, "en")["title"] == "Ask the documents"
    (tmp_path / "page.yaml").write_text("title: Big\n" + "#" * MAX_FILE_BYTES, encoding="utf-8")
    assert page_texts(tmp_path, docs, "en")["title"] == "Ask the documents"
    (tmp_path / "page.yaml").write_text("title: " + "x" * 500 + "\nexamples: [" +
                                        ", ".join(["q"] * 50) + "]\n", encoding="utf-8")
    texts = page_texts(tmp_path, docs, "zh-Hans")
    assert len(texts["title"]) == 120 and len(texts["examples"]) == 6


def test_widget_is_one_self_contained_script(client):
    reply = client.get("/widget.js")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/javascript")
    source = reply.get_data(as_text=True)
    # The chat component and the shell are inside, with the CSS as a string: nothing to fetch.
    assert "createChat" in source and "attachShadow" in source and ".ac-chat" in source
    assert "document.currentScript" in source
    assert not re.search(r"\bimport\b|importScripts|https?://(?!www\.w3\.org/2000/svg)", source)
    assert source.count("function renderPassage") == 1


def test_widget_is_cached_by_etag(client):
    first = client.get("/widget.js")
    again = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_rendering_code_is_written_once_and_inserts_text_only():
    sources = {p.name: p.read_text(encoding="utf-8") for p in STATIC.glob("*.js")}
    assert set(sources) >= {"chat.js", "page.js", "widget-shell.js"}
    for name, source in sources.items():
        assert not HTML_SINKS.search(source), name
    # Only the shared component renders answers and passages.
    for name in ("page.js", "widget-shell.js"):
        assert "mark" not in sources[name] and "highlights" not in sources[name], name
