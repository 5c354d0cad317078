"""What the bot could not answer and what people thought of its answers, in one SQLite file."""
from __future__ import annotations

import datetime as dt
import json
import atexit
import logging
import os
import queue
import re
import sqlite3
import threading
import time
import weakref
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import AccordError

FILE_NAME = "feedback.sqlite3"
# Bounded in bytes: each table keeps its newest rows within its share of FEEDBACK_MAX_BYTES,
# checked every few rows as they are added (often enough to overshoot by at most a tenth).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
SHARES = {"answers": 0.5, "feedback": 0.25, "unanswered": 0.25}
PRUNE_EVERY = 500
LOW_WATER = 0.9        # a prune goes down to 90% of the share, so it does not run at every row
ROW_OVERHEAD = 100     # bytes SQLite spends per row beyond its texts (keys, times, index entry)
MAX_TEXT = 1000        # characters kept of any question, query, answer or comment
MAX_PASSAGE_IDS = 20
MAX_PASSAGE_ID = 200
# An answer can be rated for this long after /api/ask gave it (while its row is kept).
ANSWER_TTL = dt.timedelta(days=7)
BUSY_MS = 5000   # several gunicorn workers write to the one file
WAL_LIMIT = 4 * 1024 * 1024   # the -wal file is cut back to this after each checkpoint
# Issued answers and unanswered questions wait in a per-process queue for the writer thread:
# the reply does not wait for SQLite. Bounded: past QUEUE_ROWS a request writes its own row, as before, so none is dropped.
QUEUE_ROWS = 1024
BATCH_ROWS = 256       # rows the writer puts in one transaction
FLUSH_WAIT = 2.0       # at most this long for the queue to be written (a rating's miss, a read)
EXIT_FLUSH_WAIT = 2 * BUSY_MS / 1000   # at a worker's exit: past another writer's busy timeout
log = logging.getLogger("accord")
# The tables the writer thread fills, and the columns of a row it is handed for each.
WRITTEN = {"answers": ("answer_id", "at", "question", "answer", "answered", "passage_ids",
                       "index_version"),
           "unanswered": ("at", "question", "query", "index_version")}
_queues: "weakref.WeakSet[_WriteQueue]" = weakref.WeakSet()

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
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    question TEXT,
    answer TEXT,
    answered INTEGER,
    passage_ids TEXT NOT NULL DEFAULT '[]',
    index_version TEXT
);
"""
# The bytes of a row as the byte bound counts them: its texts plus a fixed overhead.
ROW_BYTES = {
    "unanswered": "COALESCE(LENGTH(CAST(question AS BLOB)), 0) + "
                  "COALESCE(LENGTH(CAST(query AS BLOB)), 0)",
    "feedback": "COALESCE(LENGTH(CAST(comment AS BLOB)), 0) + "
                "COALESCE(LENGTH(CAST(question AS BLOB)), 0) + "
                "COALESCE(LENGTH(CAST(answer AS BLOB)), 0) + LENGTH(CAST(passage_ids AS BLOB))",
    "answers": "COALESCE(LENGTH(CAST(question AS BLOB)), 0) + "
               "COALESCE(LENGTH(CAST(answer AS BLOB)), 0) + LENGTH(CAST(passage_ids AS BLOB))",
}
ORDER = {"unanswered": "id", "feedback": "seq", "answers": "id"}
# The largest row each table can hold, in bytes (UTF-8 takes up to 4 per character).
MAX_ROW_BYTES = ROW_OVERHEAD + 3 * 4 * MAX_TEXT + MAX_PASSAGE_IDS * (MAX_PASSAGE_ID + 4)


class FeedbackStoreError(AccordError):
    """The feedback database cannot be created or written."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """At most `limit` characters of a text to store, cut at a word boundary when one is near."""
    if not text or len(text) <= limit:
        return text or None
    cut = text[:limit - 1]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def _passage_ids(ids: Sequence[str]) -> str:
    return json.dumps([str(p)[:MAX_PASSAGE_ID] for p in list(ids)[:MAX_PASSAGE_IDS]])


@dataclass(frozen=True)
class IssuedAnswer:
    """What the server answered under one answer_id: feedback records this, not the client's."""
    answer_id: str
    question: str | None
    answer: str | None
    answered: bool | None
    passage_ids: list[str]
    index_version: str | None

    # The columns both stores select for one issued answer, in this order.
    COLUMNS = "question, answer, answered, passage_ids, index_version"

    @classmethod
    def from_row(cls, answer_id: str, row: Sequence[Any] | None) -> "IssuedAnswer | None":
        """The answer from a row of COLUMNS (None: no row)."""
        if row is None:
            return None
        question, answer, answered, passage_ids, index_version = row
        return cls(answer_id, question, answer, None if answered is None else bool(answered),
                   json.loads(passage_ids or "[]"), index_version)


def question_key(text: str) -> str:
    """Questions that differ only in case, spacing or punctuation count as one."""
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


@dataclass
class FeedbackStore:
    path: Path
    store_questions: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    # Closed with its thread (threading.local drops it), never shared by two.
    _writers: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    _queued: "_WriteQueue | None" = field(default=None, repr=False, compare=False)

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        # WAL with NORMAL: no fsync per answer on the request path; a crash of the app loses
        # nothing, a power cut at most the last few rows of a log.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
        # A checkpoint runs once the WAL passes this many pages, and the file can grow past it
        # by one transaction before it does: at half the limit the file never outgrows
        # WAL_LIMIT (at SQLite's default of 1,000 pages it did, by a transaction's worth).
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_LIMIT // 2 // page}")
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
        return clip(value) if self.store_questions and value else None

    def share(self, table: str) -> int:
        """The bytes `table` may hold."""
        return int(self.max_bytes * SHARES[table])

    def _prune_every(self, table: str) -> int:
        # Rows between checks: at most a tenth of the share can be added unchecked.
        return max(1, min(PRUNE_EVERY, self.share(table) // (10 * MAX_ROW_BYTES)))

    def table_bytes(self, conn: sqlite3.Connection, table: str) -> int:
        """The bytes `table` holds, as the bound counts them."""
        row = conn.execute(f"SELECT COALESCE(SUM({ROW_BYTES[table]} + {ROW_OVERHEAD}), 0) "
                           f"FROM {table}").fetchone()
        return int(row[0])

    def _prune(self, conn: sqlite3.Connection, table: str, newest: int) -> None:
        """Drop the oldest rows of `table` once it holds more than its share of bytes."""
        if newest % self._prune_every(table) or self.table_bytes(conn, table) <= self.share(table):
            return
        order = ORDER[table]
        # The newest row past the low-water mark, counting back from the newest: it and every
        # older row go.
        conn.execute(
            f"DELETE FROM {table} WHERE {order} <= (SELECT {order} FROM (SELECT {order}, "
            f"SUM({ROW_BYTES[table]} + {ROW_OVERHEAD}) OVER (ORDER BY {order} DESC) AS kept "
            f"FROM {table}) WHERE kept > ? ORDER BY {order} DESC LIMIT 1)",
            (int(self.share(table) * LOW_WATER),))

    def _writer(self) -> sqlite3.Connection:
        """This thread's own connection for the request path, opened once: opening one per
        unanswered question cost as much as writing the row. Per process and thread: a
        connection must not cross a fork or be used by two threads."""
        mine = self._writers
        if getattr(mine, "pid", None) != os.getpid():
            mine.conn, mine.pid = self.connect(), os.getpid()
        return mine.conn

    def record_unanswered(self, question: str, query: str, index_version: str | None) -> None:
        """Keep a question the documents did not answer, written by this process's writer
        thread (as issued answers are): a refusal does not wait for SQLite."""
        row = (_now(), self._text(question), self._text(query), index_version)
        if not self._queue().put(("unanswered", row)):
            self._write("unanswered", [row])   # the queue is full: written now, as before

    def _answer_row(self, answer_id: str, question: str | None, answer: str | None,
                    answered: bool | None, passage_ids: Sequence[str],
                    index_version: str | None) -> tuple:
        return (answer_id, _now(), self._text(question), clip(answer),
                None if answered is None else int(answered), _passage_ids(passage_ids),
                index_version)

    def _write(self, table: str, rows: Sequence[tuple]) -> None:
        """Insert `rows` into `table` ('answers' or 'unanswered') in one transaction, then prune
        it when a multiple of its pruning interval was passed."""
        columns = WRITTEN[table]
        conn = self._writer()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' * len(columns))})", rows)
            newest = conn.execute("SELECT last_insert_rowid()").fetchone()[0] or 0
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        every = self._prune_every(table)
        if newest // every != (newest - len(rows)) // every:   # a multiple of `every` was passed
            self._prune(conn, table, newest - newest % every)

    def record_answer(self, answer_id: str, question: str | None, answer: str | None,
                      answered: bool | None, passage_ids: Sequence[str],
                      index_version: str | None) -> None:
        """Keep what /api/ask answered under `answer_id`, for the feedback that may follow,
        written now."""
        self._write("answers", [self._answer_row(answer_id, question, answer, answered,
                                              passage_ids, index_version)])

    def issue_answer(self, answer_id: str, question: str | None, answer: str | None,
                     answered: bool | None, passage_ids: Sequence[str],
                     index_version: str | None) -> None:
        """record_answer, written by this process's writer thread within milliseconds: the
        reply does not wait for SQLite. `issued` and `flush` see the row once it is queued."""
        row = self._answer_row(answer_id, question, answer, answered, passage_ids,
                               index_version)
        if not self._queue().put(("answers", row)):
            self._write("answers", [row])   # the queue is full: the old synchronous path

    def _queue(self) -> "_WriteQueue":
        queued = self._queued
        if queued is None or queued.pid != os.getpid():
            queued = self._queued = _WriteQueue(self)
        return queued

    def flush(self, timeout: float = FLUSH_WAIT) -> bool:
        """Wait until every row this process queued so far is written; False on timeout."""
        queued = self._queued
        return queued is None or queued.pid != os.getpid() or queued.flush(timeout)

    def issued(self, answer_id: str, retry_after: float = 0.0) -> IssuedAnswer | None:
        """The answer this server gave under `answer_id` within ANSWER_TTL, else None. On a
        miss, this process's queued answers are written and the lookup repeated; with
        `retry_after`, once more after that many seconds, for an answer another process gave
        a moment ago and has not written yet."""
        found = self._lookup(answer_id)
        if found is None:
            flush_all()
            found = self._lookup(answer_id)
        if found is None and retry_after > 0:
            time.sleep(retry_after)
            found = self._lookup(answer_id)
        return found

    def _lookup(self, answer_id: str) -> IssuedAnswer | None:
        oldest = (dt.datetime.now(dt.timezone.utc) - ANSWER_TTL).isoformat(timespec="seconds")
        row = self._writer().execute(
            f"SELECT {IssuedAnswer.COLUMNS} FROM answers WHERE answer_id = ? AND at >= ?",
            (answer_id, oldest)).fetchone()
        return IssuedAnswer.from_row(answer_id, row)

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
                 self._text(question), clip(answer), None if answered is None else int(answered),
                 _passage_ids(passage_ids), index_version, seq))
            conn.execute("COMMIT")
            self._prune(conn, "feedback", seq)

    def rows(self, table: str, since: str | None = None) -> list[dict[str, Any]]:
        """Every row of `table` ('unanswered', 'feedback' or 'answers'), from `since` (ISO
        time) on."""
        if table not in ORDER:
            raise ValueError(table)
        sql = f"SELECT * FROM {table}" + (" WHERE at >= ?" if since else "")
        flush_all()   # what this process has queued is read too
        try:
            with closing(self.connect()) as conn:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(sql, (since,) if since else ())]
        except sqlite3.Error as exc:
            raise FeedbackStoreError(f"cannot read the feedback database {self.path}: {exc}") \
                from None


class _WriteQueue:
    """One process's issued answers and unanswered questions on their way to SQLite, as
    (table, row), and the thread that writes them."""

    def __init__(self, store: FeedbackStore) -> None:
        self.pid, self.store = os.getpid(), store
        self.rows: queue.Queue = queue.Queue(QUEUE_ROWS)
        self.done = threading.Condition()
        self.queued = self.written = 0     # rows put so far, rows written (or given up) so far
        self.lock = threading.Lock()
        _queues.add(self)
        threading.Thread(target=self._run, name="feedback-writer", daemon=True).start()

    def put(self, row: tuple) -> bool:
        with self.lock:   # numbered in queue order, so `flush` knows when its rows are in
            try:
                self.rows.put_nowait(row)
            except queue.Full:
                return False
            self.queued += 1
        return True

    def flush(self, timeout: float) -> bool:
        target = self.queued
        with self.done:
            return self.done.wait_for(lambda: self.written >= target, timeout)

    def _run(self) -> None:
        while True:
            batch = [self.rows.get()]
            while len(batch) < BATCH_ROWS:
                try:
                    batch.append(self.rows.get_nowait())
                except queue.Empty:
                    break
            for table in WRITTEN:
                rows = [row for kind, row in batch if kind == table]
                try:
                    if rows:
                        self.store._write(table, rows)
                except sqlite3.Error as exc:   # as before: a failed write never failed the answer
                    log.error("could not keep %d rows of %s: %s", len(rows), table, exc)
            with self.done:
                self.written += len(batch)
                self.done.notify_all()


def flush_all(timeout: float = FLUSH_WAIT) -> None:
    """Write the rows every store of this process has queued (at a worker's exit, before a read)."""
    for queued in list(_queues):
        if queued.pid == os.getpid():
            queued.flush(timeout)


atexit.register(flush_all)


def open_existing(path: Path) -> FeedbackStore:
    """The store at `path` for reading; FeedbackStoreError if there is none yet."""
    if not path.is_file():
        raise FeedbackStoreError(f"no feedback database at {path} yet: it is created when the "
                                 "server starts (or set ACCORD_FEEDBACK_DB / --db)")
    return FeedbackStore(path)


def default_path(configured: str | Path | None = None) -> Path:
    """FEEDBACK_DB (`configured`, from the settings) when set, else feedback.sqlite3 in the
    app's instance folder (as the app finds it, without starting it)."""
    from flask import Flask

    return Path(configured) if configured else Path(Flask("bot").instance_path) / FILE_NAME
