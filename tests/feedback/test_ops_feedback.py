"""Unanswered questions and feedback kept in SQLite, `accord report`, and the privacy switch."""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import AccordError
from bot.feedback.store import EXIT_FLUSH_WAIT, MAX_TEXT, WAL_LIMIT, FeedbackStore, flush_all

ANSWERABLE = "What about the HKEX and the Share Transfer Center?"
UNANSWERABLE = "Who won the zebra quantum violin prize?"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "feedback.sqlite3"


def table(db, name: str) -> list[dict]:
    flush_all()   # rows are written by this process's writer thread, within milliseconds
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {name}")]


def ask(client, question: str) -> dict:
    reply = client.post("/api/ask", json={"question": question})
    assert reply.status_code == 200
    return reply.get_json()


def rate(client, reply: dict, question: str, rating: str, **extra):
    body = {"answer_id": reply["answer_id"], "rating": rating, "question": question,
            "answer": reply["answer"], "answered": reply["answered"],
            "passage_ids": [c["passage_id"] for c in reply["citations"]], **extra}
    return client.post("/api/feedback", json=body)


def test_each_answer_has_its_own_id(client):
    ids = {ask(client, ANSWERABLE)["answer_id"] for _ in range(3)}
    assert len(ids) == 3


def test_unanswered_questions_are_kept(make_app, db):
    client = make_app().test_client()
    ask(client, ANSWERABLE)
    ask(client, UNANSWERABLE)
    ask(client, "  who WON the zebra quantum-violin prize  ")
    rows = table(db, "unanswered")
    assert [r["question"] for r in rows] == [UNANSWERABLE, "who WON the zebra quantum-violin prize"]
    assert all(r["index_version"] and r["at"] for r in rows)


def test_feedback_is_kept_and_a_second_rating_replaces_the_first(make_app, db):
    client = make_app().test_client()
    reply = ask(client, ANSWERABLE)
    first = rate(client, reply, ANSWERABLE, "up")
    assert first.status_code == 200
    assert first.get_json() == {"status": "recorded", "answer_id": reply["answer_id"],
                                "rating": "up"}
    assert rate(client, reply, ANSWERABLE, "down", comment="Wrong\x1b[2J date ").status_code == 200
    rows = table(db, "feedback")
    assert len(rows) == 1
    row = rows[0]
    assert (row["rating"], row["question"], row["answer"]) == (-1, ANSWERABLE, reply["answer"])
    assert row["comment"] == "Wrong[2J date"   # control characters never reach the database
    assert json.loads(row["passage_ids"]) == [c["passage_id"] for c in reply["citations"]]
    # A later message with only the rating keeps the comment.
    client.post("/api/feedback", json={"answer_id": reply["answer_id"], "rating": "down"})
    assert table(db, "feedback")[0]["comment"] == "Wrong[2J date"


@pytest.mark.parametrize("body, words", [
    ({"rating": "up"}, "answer_id"),
    ({"answer_id": "not-hex", "rating": "up"}, "answer_id"),
    ({"answer_id": "a" * 32, "rating": "meh"}, "rating"),
    ({"answer_id": "a" * 32, "rating": "up", "comment": "x" * 1001}, "comment"),
    ({"answer_id": "a" * 32, "rating": "up", "answered": "yes"}, "answered"),
    ({"answer_id": "a" * 32, "rating": "up", "passage_ids": ["x"] * 21}, "passage_ids"),
    ({"answer_id": "a" * 32, "rating": "up", "score": 5}, "score"),
])
def test_bad_feedback_is_400_naming_the_field(client, body, words):
    reply = client.post("/api/feedback", json=body)
    assert reply.status_code == 400
    assert words in reply.get_json()["error"]["message"]


def test_feedback_must_be_json(client):
    assert client.post("/api/feedback", data="rating=up").status_code == 415


def test_question_text_is_not_kept_when_switched_off(make_app, db, monkeypatch):
    monkeypatch.setenv("ACCORD_STORE_QUESTIONS", "false")
    client = make_app().test_client()
    ask(client, UNANSWERABLE)
    reply = ask(client, ANSWERABLE)
    assert rate(client, reply, ANSWERABLE, "down", comment="my name is Jo").status_code == 200
    unanswered = table(db, "unanswered")
    assert len(unanswered) == 1
    assert unanswered[0]["question"] is None and unanswered[0]["query"] is None
    row = table(db, "feedback")[0]
    assert row["question"] is None and row["comment"] is None
    assert row["rating"] == -1 and row["answer"] == reply["answer"]   # the bot's own words
    out = CliRunner().invoke(cli, ["report", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert "1 kept without their text" in out.output
    assert UNANSWERABLE not in out.output and "Jo" not in out.output


def test_report_lists_frequent_unanswered_questions_and_worst_answers(make_app, db):
    client = make_app().test_client()
    for question in ["What is the GDP of Chongqing?"] * 3 + ["what is the gdp of chongqing"] \
            + ["Who is the mayor of Shanghai?"] * 2 + [UNANSWERABLE]:
        ask(client, question)
    bad = ask(client, ANSWERABLE)
    rate(client, bad, ANSWERABLE, "down", comment="Cites the wrong passage")
    rate(client, ask(client, ANSWERABLE), "HKEX and the Share Transfer Center?", "down")
    rate(client, ask(client, ANSWERABLE), ANSWERABLE, "up")
    rate(client, ask(client, "Youth internships?"), "Youth internships?", "up")

    out = CliRunner().invoke(cli, ["report", "--db", str(db)])
    assert out.exit_code == 0, out.output
    text = out.output
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "what is the gdp of chongqing" in line.lower())
    assert "4x" in lines[first]                                  # case and punctuation folded
    assert "2x" in lines[first + 1] and "mayor of Shanghai" in lines[first + 1]
    assert "Ratings: 2 up, 2 down" in text
    worst = text.index("2 down, 1 up")
    assert bad["answer"][:40] in text[worst:]
    assert "Cites the wrong passage" in text
    assert bad["citations"][0]["passage_id"] in text

    data = json.loads(CliRunner().invoke(cli, ["report", "--db", str(db), "--json",
                                               "--top", "1"]).output)
    assert data["unanswered_total"] >= 7 and len(data["unanswered"]) == 1
    assert data["unanswered"][0]["count"] == 4
    assert data["worst_rated"][0]["down"] == 2 and data["worst_rated"][0]["up"] == 1


def test_report_without_a_database_is_one_clear_line(tmp_path):
    out = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "none.sqlite3")])
    assert out.exit_code == 1
    assert out.output.startswith("Error: no feedback database at ")
    assert len(out.output.strip().splitlines()) == 1


def test_report_from_the_setting(tmp_path, monkeypatch):
    path = tmp_path / "from-env.sqlite3"
    FeedbackStore(path).create().record_unanswered("Where is the moon?", "Where is the moon?", "v1")
    monkeypatch.setenv("ACCORD_FEEDBACK_DB", str(path))
    out = CliRunner().invoke(cli, ["report"])
    assert out.exit_code == 0 and "Where is the moon?" in out.output


def test_an_unwritable_feedback_folder_stops_the_start(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the instance folder should be")
    with pytest.raises(AccordError, match="cannot write the feedback database.*ACCORD_FEEDBACK_DB"):
        make_app(FEEDBACK_DB=str(blocker / "feedback.sqlite3"))


def test_the_store_is_bounded_in_bytes_and_keeps_the_newest_rows(tmp_path):
    """Maximal rows of every kind, far more than the budget: each table stays within its share
    of bytes, the file within a small multiple of the setting, and the newest rows are kept."""
    budget = 2 * 1024 * 1024
    store = FeedbackStore(tmp_path / "f.sqlite3", max_bytes=budget).create()
    long = "w" * 59 + " "
    for i in range(600):
        text = f"q{i} " + long * 1000          # 60 KB, as the old caps let through
        store.record_unanswered(text, text, "v1")
        store.record_answer(f"{i:032x}", text, text, True, [f"doc#{n}" * 20 for n in range(20)],
                            "v1")
        store.record_feedback(f"{i:032x}", "down", comment=text, question=text, answer=text,
                              passage_ids=[f"doc#{n}" for n in range(20)])
    with closing(store.connect()) as conn:
        for table in ("unanswered", "feedback", "answers"):
            assert store.table_bytes(conn, table) <= store.share(table) * 1.1, table
    sizes = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    print(sizes)
    assert sizes["f.sqlite3"] < 2 * budget, sizes
    assert sizes.get("f.sqlite3-wal", 0) <= WAL_LIMIT + 64 * 1024, sizes   # cut back at checkpoints
    unanswered = store.rows("unanswered")
    assert unanswered[-1]["question"].startswith("q599 ") and len(unanswered) < 600
    assert all(len(r["question"]) <= MAX_TEXT and len(r["query"]) <= MAX_TEXT for r in unanswered)
    rated = store.rows("feedback")
    assert all(len(r[k]) <= MAX_TEXT for r in rated for k in ("comment", "question", "answer"))
    assert store.issued(f"{599:032x}") is not None and store.issued(f"{0:032x}") is None


def test_feedback_for_an_answer_id_the_server_never_gave_is_refused(make_app, db):
    client = make_app().test_client()
    ask(client, ANSWERABLE)
    forged = {"answer_id": "0123456789abcdef0123456789abcdef", "rating": "down",
              "answer": "FORGED answer", "passage_ids": ["made-up#1"]}
    reply = client.post("/api/feedback", json=forged)
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "not_found"
    assert "answer_id" in reply.get_json()["error"]["message"]
    assert table(db, "feedback") == []
    out = CliRunner().invoke(cli, ["report", "--db", str(db)])
    assert "FORGED" not in out.output and "Ratings: 0 up, 0 down" in out.output


def test_feedback_records_the_servers_answer_not_the_clients(make_app, db):
    client = make_app().test_client()
    reply = ask(client, ANSWERABLE)
    sent = client.post("/api/feedback", json={
        "answer_id": reply["answer_id"], "rating": "down", "question": "FORGED question",
        "answer": "FORGED answer", "answered": False, "passage_ids": ["made-up#1"]})
    assert sent.status_code == 200
    row = table(db, "feedback")[0]
    assert (row["question"], row["answer"], row["answered"]) == (ANSWERABLE, reply["answer"], 1)
    assert json.loads(row["passage_ids"]) == [c["passage_id"] for c in reply["citations"]]
    out = CliRunner().invoke(cli, ["report", "--db", str(db)])
    assert "FORGED" not in out.output and "made-up" not in out.output


def test_an_answer_id_works_across_workers_and_restarts_until_it_expires(make_app, db):
    """Issued ids live in the database every worker shares, so another process (or the same
    server after a restart) accepts them; past ANSWER_TTL they are refused."""
    reply = ask(make_app().test_client(), ANSWERABLE)
    other = make_app().test_client()
    assert other.post("/api/feedback", json={"answer_id": reply["answer_id"],
                                             "rating": "up"}).status_code == 200
    old = ask(other, ANSWERABLE)
    flush_all()   # issued answers are written by a writer thread
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE answers SET at = '2000-01-01T00:00:00+00:00' WHERE answer_id = ?",
                     (old["answer_id"],))
    late = other.post("/api/feedback", json={"answer_id": old["answer_id"], "rating": "up"})
    assert late.status_code == 404


def test_unanswered_questions_from_many_threads_and_a_forked_child_are_all_kept(tmp_path):
    """Each request thread writes through its own kept-open connection; a forked worker opens
    its own instead of using the parent's."""
    import multiprocessing
    import threading
    store = FeedbackStore(tmp_path / "f.sqlite3").create()
    store.record_unanswered("before the fork", "q", None)     # the parent's connection is open

    def ask(n: int) -> None:
        for i in range(20):
            store.record_unanswered(f"t{n}-{i}", "q", None)

    def worker() -> None:
        ask(99)
        flush_all(EXIT_FLUSH_WAIT)   # as a gunicorn worker does at its exit (web/worker.py)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flush_all()   # the parent's rows written: its writer thread idle, as a master's is
    child = multiprocessing.get_context("fork").Process(target=worker)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    questions = {r["question"] for r in store.rows("unanswered")}
    assert len(questions) == 1 + 8 * 20 + 20 and "t99-19" in questions


def test_an_answer_does_not_wait_for_the_feedback_database(make_app, db):
    """While another process holds the database's write lock, /api/ask still answers at once
    (issuing its answer_id used to wait up to the 5 s busy timeout), a refusal too (keeping the
    unanswered question did); once the lock is gone both are written and the answer can be
    rated."""
    app = make_app()
    client = app.test_client()
    ask(client, ANSWERABLE)                      # warm: the app's first answer is slower
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        reply = ask(client, ANSWERABLE)
        took = time.monotonic() - started
        started = time.monotonic()
        assert not ask(client, UNANSWERABLE)["answered"]
        refused = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert took < 1.0, took
    assert refused < 1.0, refused
    assert [r["question"] for r in table(db, "unanswered")] == [UNANSWERABLE]
    rated = client.post("/api/feedback", json={"answer_id": reply["answer_id"], "rating": "up"})
    assert rated.status_code == 200
    assert table(db, "feedback")[0]["answer"] == reply["answer"]


def _issue_in_a_child(path, answer_id, locked, queued, release) -> None:
    locked.wait(10)
    store = FeedbackStore(path)
    store.issue_answer(answer_id, "q", "the answer", True, ["doc#1"], "v1")
    queued.set()
    release.wait(10)
    store.flush()


def test_feedback_at_another_worker_before_the_answer_is_written_is_not_refused(tmp_path):
    """Worker A has issued an answer, its writer not yet done (the database is busy); the rating
    reaches worker B: B looks again after a short wait instead of answering 404."""
    import multiprocessing
    import threading
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path).create()
    ctx = multiprocessing.get_context("fork")
    locked, queued, release = ctx.Event(), ctx.Event(), ctx.Event()
    child = ctx.Process(target=_issue_in_a_child, args=(path, "a" * 32, locked, queued, release))
    child.start()
    # Opened after the fork: SQLite's locks must not be copied into a child.
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")            # worker A's row cannot be written yet
    locked.set()
    try:
        assert queued.wait(10)
        assert store.issued("a" * 32) is None    # without the second look: a spurious 404

        def unlock() -> None:
            time.sleep(0.05)
            holder.execute("ROLLBACK")
            release.set()
        threading.Thread(target=unlock).start()
        found = store.issued("a" * 32, retry_after=0.5)
    finally:
        release.set()
        child.join(10)
    assert found is not None and found.answer == "the answer"
    assert store.issued("b" * 32, retry_after=0.01) is None
