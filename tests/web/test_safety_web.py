"""Hostile inputs around the edges of the web app and the command line: forged Host headers,
settings from the environment taken verbatim, exact CORS origins, control characters from
documents kept off the terminal."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import bot.cli as cli_module
import bot.qa.engine

EVIL = "evil.example"


# --- redirects never follow the Host header and are never cached ---

@pytest.mark.parametrize("path, where", [
    ("/api//health", "/api/health"),               # werkzeug merges slashes with a 308
    ("/static//chat.js?v=1", "/static/chat.js?v=1"),
])
def test_a_forged_host_gets_a_relative_uncached_redirect(client, path, where):
    reply = client.get(path, headers={"Host": EVIL})
    assert reply.status_code == 308
    assert reply.headers["Location"] == where
    assert EVIL not in reply.headers["Location"]
    assert reply.headers["Cache-Control"] == "no-store"


def test_a_redirect_location_never_names_another_host(app):
    """Whatever a redirect was built with, only its path is kept, with one leading slash."""
    from flask import redirect

    app.add_url_rule("/test/away", "away", lambda: redirect("http://evil.example//x.org/p?q=1"))
    reply = app.test_client().get("/test/away")
    assert reply.headers["Location"] == "/x.org/p?q=1"
    assert reply.headers["Cache-Control"] == "no-store"


def test_a_not_modified_static_file_stays_cacheable(client):
    first = client.get("/static/chat.js")
    again = client.get("/static/chat.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and "no-store" not in again.headers.get("Cache-Control", "")


# --- settings from the environment: secrets and strings verbatim, typed ones by the table ---

@pytest.mark.parametrize("token", ["1e999", "null", "true", "[1, 2]", '"quoted"', "0012"])
def test_admin_and_metrics_tokens_from_the_environment_are_taken_verbatim(
        make_app, monkeypatch, token):
    monkeypatch.setenv("ACCORD_ADMIN_TOKEN", token)
    monkeypatch.setenv("ACCORD_METRICS_TOKEN", token)
    app = make_app()
    assert app.config["ADMIN_TOKEN"] == token and app.config["METRICS_TOKEN"] == token
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=auth).status_code == 200
    assert client.delete("/api/documents/no-such-doc", headers=auth).status_code != 401
    assert client.delete("/api/documents/no-such-doc",
                         headers={"Authorization": "Bearer inf"}).status_code == 401


def test_string_settings_are_verbatim_and_typed_ones_coerced(make_app, monkeypatch):
    monkeypatch.setenv("ACCORD_RATE_LIMIT", "100/minute")
    monkeypatch.setenv("ACCORD_ALLOWED_ORIGINS", '["https://a.example"]')   # not a JSON list
    monkeypatch.setenv("ACCORD_MAX_CONTENT_LENGTH", "2048")
    monkeypatch.setenv("ACCORD_STORE_QUESTIONS", "off")
    monkeypatch.setenv("ACCORD_TRUSTED_PROXIES", "1")
    with pytest.raises(ValueError, match="ACCORD_ALLOWED_ORIGINS"):
        make_app()
    monkeypatch.setenv("ACCORD_ALLOWED_ORIGINS", "https://a.example")
    app = make_app()
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["STORE_QUESTIONS"] is False and app.config["TRUSTED_PROXIES"] == 1
    assert app.config["ALLOWED_ORIGINS"] == ["https://a.example"]


@pytest.mark.parametrize("name, text", [("ACCORD_MAX_CONTENT_LENGTH", "1e999"),
                                        ("ACCORD_QUERY_CACHE", "null"),
                                        ("ACCORD_REQUIRE_INDEX", "null")])
def test_a_typed_setting_that_is_not_its_type_stops_the_start_naming_it(
        make_app, monkeypatch, name, text):
    monkeypatch.setenv(name, text)
    with pytest.raises(ValueError, match=name):
        make_app()


# --- CORS origins are matched exactly, "*." only as a strict subdomain ---

@pytest.fixture
def cors(make_app):
    return make_app(ALLOWED_ORIGINS="https://*.example.org, https://site.example:8443").test_client()


@pytest.mark.parametrize("origin, allowed", [
    ("https://sub.example.org", True),
    ("https://a.b.example.org", True),
    ("https://SUB.Example.org", True),
    ("https://site.example:8443", True),
    ("https://xexample.org", False),                # "*" read as a regular expression allowed it
    ("https://example.org", False),                 # the bare domain is not a subdomain
    ("https://.example.org", False),
    ("http://sub.example.org", False),
    ("https://sub.example.org:444", False),
    ("https://sub.example.org.evil.net", False),
    ("https://evil.net/.example.org", False),
    ("https://site.example", False),
    ("https://site.example:84430", False),
    ("https://siteXexample:8443", False),            # a dot is a dot, not any character
    ("https://site.example:8443.evil.net", False),
])
def test_cors_origins_match_exactly(cors, origin, allowed):
    reply = cors.post("/api/ask", json={"question": "HKEX?"}, headers={"Origin": origin})
    assert (reply.headers.get("Access-Control-Allow-Origin") == origin) is allowed
    if not allowed:
        assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize("entry", ["https://a.example$", "https://a.*.example", "https://(a|b).example",
                                   "https://a.example/path", "a.example", "*", "ftp://a.example"])
def test_an_allowed_origin_that_is_not_an_origin_stops_the_start(make_app, entry):
    with pytest.raises(ValueError, match="ACCORD_ALLOWED_ORIGINS"):
        make_app(ALLOWED_ORIGINS=entry)


# --- accord ask prints no control characters from documents ---

HOSTILE = "Hong Kong\x1b]0;pwned\x07 and\x1b[2J Chongqing\x9b31m agreed.\r\x08\x00\tOK"
REPLY = {"answered": True, "answer": HOSTILE + " [1]", "query": "q", "took_ms": 1,
         "citations": [{"n": 1, "title": "T\x1b[31mitle", "source": "S\x07rc\n2",
                        "date": "2023\x1b(0-05-11", "passage_id": "doc#1\x9d", "text": HOSTILE,
                        "highlights": [[0, len(HOSTILE)]]}]}


class HostileBot:
    def ask(self, *args, **kwargs):
        return json.loads(json.dumps(REPLY))


@pytest.fixture
def hostile_cli(monkeypatch, fake_encoder):
    monkeypatch.setattr(cli_module, "_encoder", lambda model, threads=None: fake_encoder)
    monkeypatch.setattr(bot.qa.engine.Bot, "open", classmethod(lambda cls, *a, **k: HostileBot()))
    return CliRunner()


def controls(text: str) -> set[str]:
    return {ch for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7f <= ord(ch) <= 0x9f}


@pytest.mark.parametrize("args", [[], ["--json"]])
def test_accord_ask_prints_no_control_characters(hostile_cli, tmp_path, args):
    result = hostile_cli.invoke(cli_module.cli, ["ask", "What?", "--index", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    assert controls(result.output) == set(), controls(result.output)
    assert "Chongqing" in result.output and "pwned" in result.output
    if args:
        assert json.loads(result.output)["answer"] == REPLY["answer"]   # escaped, not lost


def test_accord_report_json_prints_no_control_characters(tmp_path):
    from bot.feedback.store import FeedbackStore

    db = tmp_path / "f.sqlite3"
    FeedbackStore(db).create().record_unanswered("Why\x9b2J?", "Why\x85?", "v1")
    result = CliRunner().invoke(cli_module.cli, ["report", "--db", str(db), "--json"])
    assert result.exit_code == 0 and controls(result.output) == set()
    assert json.loads(result.output)["unanswered"][0]["question"] == "Why\x9b2J?"
