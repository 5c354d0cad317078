"""Feedback and unanswered questions in PostgreSQL (ACCORD_DATABASE_URL), shared by two app
instances, read by `accord report`; SQLite stays the default."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.feedback.store import FeedbackStore, FeedbackStoreError

from .. import postgres_server

pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")
ANSWERABLE = "What about the HKEX and the Share Transfer Center?"
UNANSWERABLE = "Who won the zebra quantum violin prize?"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    url, proc = postgres_server.start(tmp_path_factory.mktemp("pg"))
    yield url
    postgres_server.stop(proc)


@pytest.fixture
def fresh(database):
    """The database emptied of the tables a test before made."""
    import sqlalchemy
    engine = sqlalchemy.create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP TABLE IF EXISTS unanswered, feedback, answers; "
                                     "DROP SEQUENCE IF EXISTS feedback_seq_counter"))
    engine.dispose()
    return database


def _ask(client, question):
    reply = client.post("/api/ask", json={"question": question})
    assert reply.status_code == 200
    return reply.get_json()


def test_two_replicas_share_feedback_and_the_report_reads_it(make_app, fresh, tmp_path):
    one = make_app(DATABASE_URL=fresh).test_client()
    two = make_app(DATABASE_URL=fresh, FEEDBACK_DB=str(tmp_path / "other.sqlite3")).test_client()
    _ask(one, UNANSWERABLE)
    _ask(two, "who WON the zebra quantum-violin prize")
    reply = _ask(one, ANSWERABLE)
    # Rated on the other replica: the answer id issued by the first is known to the second.
    rated = two.post("/api/feedback", json={"answer_id": reply["answer_id"], "rating": "down",
                                            "comment": "not what I asked"})
    assert rated.status_code == 200, rated.get_json()
    assert not (tmp_path / "feedback.sqlite3").exists() or \
        FeedbackStore(tmp_path / "feedback.sqlite3").rows("unanswered") == []

    result = CliRunner().invoke(cli, ["report", "--json", "--database-url", fresh])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["unanswered_total"] == 2
    assert report["unanswered"][0]["count"] == 2
    assert report["ratings"] == {"up": 0, "down": 1}
    assert report["worst_rated"][0]["comments"] == ["not what I asked"]
    assert report["database"].startswith("postgresql+psycopg://postgres@127.0.0.1")
    text = CliRunner(env={"ACCORD_DATABASE_URL": fresh}).invoke(cli, ["report"])
    print("\n" + text.output)
    assert text.exit_code == 0 and "2x who WON the zebra" in text.output


def test_the_tables_stay_within_their_bytes(fresh):
    from bot.feedback.sql_store import SqlFeedbackStore

    store = SqlFeedbackStore(fresh, max_bytes=400_000).create()
    for i in range(300):
        store.record_unanswered(f"question {i} " + "x" * 900, "q", "v1")
    assert store.table_bytes("unanswered") <= store.share("unanswered") * 1.1
    kept = store.rows("unanswered")
    assert kept and kept[-1]["question"].startswith("question 299 ")


def test_an_unreachable_database_stops_the_start_with_its_address(make_app):
    with pytest.raises(FeedbackStoreError, match="127.0.0.1:1/"):
        make_app(DATABASE_URL="postgresql://u:secret@127.0.0.1:1/db")


def test_sqlite_stays_the_default(make_app, tmp_path):
    app = make_app()
    from bot.web.feedback import KEY
    assert isinstance(app.extensions[KEY], FeedbackStore)
