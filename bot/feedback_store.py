"""What the bot could not answer and what people thought of its answers, in one SQLite file."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import AccordError

FILE_NAME = "feedback.sqlite3"
# Bounded: each table keeps its newest rows only, pruned now and then as rows are added.
MAX_ROWS = 100_000
PRUNE_EVERY = 500
BUSY_MS = 5000   # several gunicorn workers write to the one file

SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    question TEXT,
    query TEXT,
    index_version TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT,
    question TEXT,
    answer TEXT,
    answered INTEGER,
    passage_ids TEXT NOT NULL DEFAULT '[]',
    index_version TEXT,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS feedback_seq ON feedback(seq);
"""


class FeedbackStoreError(AccordError):
    """The feedback database cannot be created or written."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def question_key(text: str) -> str:
    """Questions that differ only in case, spacing or punctuation count as one."""
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


@dataclass
class FeedbackStore:
    path: Path
    store_questions: bool = True
    # Closed with its thread (threading.local drops it), never shared by two.
    _writers: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        # WAL with NORMAL: no fsync per answer on the request path; a crash of the app loses
        # nothing, a power cut at most the last few rows of a log.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def create(self) -> "FeedbackStore":
        """Make the folder and tables; FeedbackStoreError with the path and reason if it cannot."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self.connect()) as conn:
                # WAL: readers (accord report) never block the workers that write.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                conn.execute("BEGIN IMMEDIATE")   # proves the file can be written, now
                conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise FeedbackStoreError(
                f"cannot write the feedback database {self.path}: {reason}; make its folder "
                "writable or set ACCORD_FEEDBACK_DB to a writable path") from None
        return self

    def _text(self, value: str | None) -> str | None:
        return value if self.store_questions and value else None

    def _prune(self, conn: sqlite3.Connection, table: str, order: str, newest: int) -> None:
        if newest % PRUNE_EVERY == 0:
            conn.execute(f"DELETE FROM {table} WHERE {order} <= ?", (newest - MAX_ROWS,))

    def _writer(self) -> sqlite3.Connection:
        """This thread's own connection for the request path, opened once: opening one per
        unanswered question cost as much as writing the row. Per process and thread: a
        connection must not cross a fork or be used by two threads."""
        mine = self._writers
        if getattr(mine, "pid", None) != os.getpid():
            mine.conn, mine.pid = self.connect(), os.getpid()
        return mine.conn

    def record_unanswered(self, question: str, query: str, index_version: str | None) -> None:
        conn = self._writer()
        cur = conn.execute("INSERT INTO unanswered (at, question, query, index_version) "
                           "VALUES (?, ?, ?, ?)",
                           (_now(), self._text(question), self._text(query), index_version))
        self._prune(conn, "unanswered", "id", cur.lastrowid or 0)

    def record_feedback(self, answer_id: str, rating: str, comment: str | None = None,
                        question: str | None = None, answer: str | None = None,
                        answered: bool | None = None, passage_ids: Sequence[str] = (),
                        index_version: str | None = None) -> None:
        """One row per answer: rating again (or adding a comment) updates it."""
        with closing(self.connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback").fetchone()[0]
            conn.execute(
                "INSERT INTO feedback (answer_id, at, rating, comment, question, answer, answered,"
                " passage_ids, index_version, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(answer_id) DO UPDATE SET at = excluded.at, rating = excluded.rating,"
                " comment = COALESCE(excluded.comment, feedback.comment),"
                " question = COALESCE(excluded.question, feedback.question),"
                " answer = COALESCE(excluded.answer, feedback.answer),"
                " answered = COALESCE(excluded.answered, feedback.answered),"
                " passage_ids = CASE WHEN excluded.passage_ids = '[]' THEN feedback.passage_ids"
                " ELSE excluded.passage_ids END, seq = excluded.seq",
                (answer_id, _now(), 1 if rating == "up" else -1, self._text(comment),
                 self._text(question), answer, None if answered is None else int(answered),
                 json.dumps(list(passage_ids)), index_version, seq))
            conn.execute("COMMIT")
            self._prune(conn, "feedback", "seq", seq)

    def rows(self, table: str, since: str | None = None) -> list[dict[str, Any]]:
        """Every row of `table` ('unanswered' or 'feedback'), from `since` (ISO time) on."""
        if table not in ("unanswered", "feedback"):
            raise ValueError(table)
        sql = f"SELECT * FROM {table}" + (" WHERE at >= ?" if since else "")
        try:
            with closing(self.connect()) as conn:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(sql, (since,) if since else ())]
        except sqlite3.Error as exc:
            raise FeedbackStoreError(f"cannot read the feedback database {self.path}: {exc}") \
                from None


def open_existing(path: Path) -> FeedbackStore:
    """The store at `path` for reading; FeedbackStoreError if there is none yet."""
    if not path.is_file():
        raise FeedbackStoreError(f"no feedback database at {path} yet: it is created when the "
                                 "server starts (or set ACCORD_FEEDBACK_DB / --db)")
    return FeedbackStore(path)


def default_path() -> Path:
    """FEEDBACK_DB when set, else feedback.sqlite3 in the app's instance folder (as the app
    finds it, without starting it)."""
    from flask import Flask

    from .settings import resolve

    configured = resolve("FEEDBACK_DB")
    return Path(configured) if configured else Path(Flask("bot").instance_path) / FILE_NAME
