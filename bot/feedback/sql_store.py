"""The feedback store in PostgreSQL (through SQLAlchemy and psycopg), shared by every replica:
the same tables, bounds and methods as the SQLite file of bot/feedback_store.py."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Sequence

from .store import (ANSWER_TTL, DEFAULT_MAX_BYTES, LOW_WATER, MAX_ROW_BYTES, ORDER,
                             PRUNE_EVERY, ROW_OVERHEAD, SHARES, FeedbackStoreError,
                             IssuedAnswer, _now, _passage_ids, clip)

INSTALL_HINT = "PostgreSQL needs SQLAlchemy and psycopg: pip install 'accord-bot[postgres]'"
POOL_SIZE = 4         # connections per process (a gunicorn worker answers one request at a time)
CONNECT_SECONDS = 5   # a database that does not answer fails the start, not hangs it
STATEMENT_MS = 5000   # no write on the request path waits longer than this

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS unanswered (
        id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, question TEXT, query TEXT,
        index_version TEXT)""",
    "CREATE SEQUENCE IF NOT EXISTS feedback_seq_counter",
    """CREATE TABLE IF NOT EXISTS feedback (
        answer_id TEXT PRIMARY KEY, at TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT,
        question TEXT, answer TEXT, answered INTEGER, passage_ids TEXT NOT NULL DEFAULT '[]',
        index_version TEXT, seq BIGINT)""",
    "CREATE INDEX IF NOT EXISTS feedback_seq ON feedback(seq)",
    """CREATE TABLE IF NOT EXISTS answers (
        id BIGSERIAL PRIMARY KEY, answer_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
        question TEXT, answer TEXT, answered INTEGER, passage_ids TEXT NOT NULL DEFAULT '[]',
        index_version TEXT)""",
)
# The bytes of a row as the bound counts them, as in the SQLite store.
ROW_BYTES = {
    "unanswered": "COALESCE(OCTET_LENGTH(question), 0) + COALESCE(OCTET_LENGTH(query), 0)",
    "feedback": "COALESCE(OCTET_LENGTH(comment), 0) + COALESCE(OCTET_LENGTH(question), 0) + "
                "COALESCE(OCTET_LENGTH(answer), 0) + OCTET_LENGTH(passage_ids)",
    "answers": "COALESCE(OCTET_LENGTH(question), 0) + COALESCE(OCTET_LENGTH(answer), 0) + "
               "OCTET_LENGTH(passage_ids)",
}


def engine_url(url: str) -> str:
    """postgresql:// URLs use psycopg (3), which the postgres extra installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise FeedbackStoreError("ACCORD_DATABASE_URL must be a postgresql:// URL "
                             "(unset it to keep feedback in the SQLite file)")


@dataclass
class SqlFeedbackStore:
    url: str
    store_questions: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    _engine: Any = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> str:
        """The URL without its password, for messages and the report's header."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Any:
        if self._engine is None:
            try:
                import sqlalchemy
            except ImportError:
                raise FeedbackStoreError(INSTALL_HINT) from None
            self._engine = sqlalchemy.create_engine(
                engine_url(self.url), pool_size=POOL_SIZE, max_overflow=POOL_SIZE,
                pool_pre_ping=True, connect_args={
                    "connect_timeout": CONNECT_SECONDS,
                    "options": f"-c statement_timeout={STATEMENT_MS}"})
        return self._engine

    def _run(self, sql: str, params: dict | None = None, fetch: str = "") -> Any:
        from sqlalchemy import exc, text

        try:
            with self.engine.begin() as conn:
                result = conn.execute(text(sql), params or {})
                if fetch == "one":
                    return result.fetchone()
                if fetch == "all":
                    return [dict(r._mapping) for r in result]
                return result
        except exc.SQLAlchemyError as error:
            raise FeedbackStoreError(f"the feedback database {self.path}: "
                                     f"{str(error.orig or error).splitlines()[0][:300]}") from None

    def create(self) -> "SqlFeedbackStore":
        """Create the tables (once, whichever replica starts first); FeedbackStoreError if the
        database cannot be reached or written."""
        from sqlalchemy import exc, text

        try:
            with self.engine.begin() as conn:
                # Replicas starting together must not race on CREATE ... IF NOT EXISTS.
                conn.execute(text("SELECT pg_advisory_xact_lock(7710018)"))
                for statement in SCHEMA:
                    conn.execute(text(statement))
        except exc.SQLAlchemyError as error:
            raise FeedbackStoreError(
                f"cannot write the feedback database {self.path}: "
                f"{str(error.orig or error).splitlines()[0][:300]}; check ACCORD_DATABASE_URL") \
                from None
        return self

    def _text(self, value: str | None) -> str | None:
        return clip(value) if self.store_questions and value else None

    def share(self, table: str) -> int:
        return int(self.max_bytes * SHARES[table])

    def _prune_every(self, table: str) -> int:
        return max(1, min(PRUNE_EVERY, self.share(table) // (10 * MAX_ROW_BYTES)))

    def table_bytes(self, table: str) -> int:
        row = self._run(f"SELECT COALESCE(SUM({ROW_BYTES[table]} + {ROW_OVERHEAD}), 0) "
                        f"FROM {table}", fetch="one")
        return int(row[0])

    def _prune(self, table: str, newest: int) -> None:
        """Drop the oldest rows of `table` once it holds more than its share of bytes."""
        if newest % self._prune_every(table) or self.table_bytes(table) <= self.share(table):
            return
        order = ORDER[table]
        self._run(
            f"DELETE FROM {table} WHERE {order} <= (SELECT {order} FROM (SELECT {order}, "
            f"SUM({ROW_BYTES[table]} + {ROW_OVERHEAD}) OVER (ORDER BY {order} DESC) AS kept "
            f"FROM {table}) AS sized WHERE kept > :keep ORDER BY {order} DESC LIMIT 1)",
            {"keep": int(self.share(table) * LOW_WATER)})

    def record_unanswered(self, question: str, query: str, index_version: str | None) -> None:
        row = self._run("INSERT INTO unanswered (at, question, query, index_version) VALUES "
                        "(:at, :q, :query, :v) RETURNING id",
                        {"at": _now(), "q": self._text(question), "query": self._text(query),
                         "v": index_version}, fetch="one")
        self._prune("unanswered", int(row[0]))

    def record_answer(self, answer_id: str, question: str | None, answer: str | None,
                      answered: bool | None, passage_ids: Sequence[str],
                      index_version: str | None) -> None:
        row = self._run(
            "INSERT INTO answers (answer_id, at, question, answer, answered, passage_ids, "
            "index_version) VALUES (:id, :at, :q, :a, :ok, :p, :v) RETURNING id",
            {"id": answer_id, "at": _now(), "q": self._text(question), "a": clip(answer),
             "ok": None if answered is None else int(answered), "p": _passage_ids(passage_ids),
             "v": index_version}, fetch="one")
        self._prune("answers", int(row[0]))

    def issue_answer(self, answer_id: str, question: str | None, answer: str | None,
                     answered: bool | None, passage_ids: Sequence[str],
                     index_version: str | None) -> None:
        """record_answer, written now: one pooled round trip, and every replica must see the
        row before the client can rate it on another one."""
        self.record_answer(answer_id, question, answer, answered, passage_ids, index_version)

    def flush(self, timeout: float = 0.0) -> bool:
        """Nothing waits in this process: every answer is written as it is issued."""
        return True

    def issued(self, answer_id: str, retry_after: float = 0.0) -> IssuedAnswer | None:
        """The answer any replica gave under `answer_id` within ANSWER_TTL, else None (rows are
        written before the reply, so a miss is not retried)."""
        oldest = (dt.datetime.now(dt.timezone.utc) - ANSWER_TTL).isoformat(timespec="seconds")
        row = self._run(f"SELECT {IssuedAnswer.COLUMNS} FROM answers WHERE answer_id = :id "
                        "AND at >= :oldest", {"id": answer_id, "oldest": oldest}, fetch="one")
        return IssuedAnswer.from_row(answer_id, row)

    def record_feedback(self, answer_id: str, rating: str, comment: str | None = None,
                        question: str | None = None, answer: str | None = None,
                        answered: bool | None = None, passage_ids: Sequence[str] = (),
                        index_version: str | None = None) -> None:
        """One row per answer: rating again (or adding a comment) updates it."""
        row = self._run(
            "INSERT INTO feedback (answer_id, at, rating, comment, question, answer, answered,"
            " passage_ids, index_version, seq) VALUES (:id, :at, :r, :c, :q, :a, :ok, :p, :v,"
            " nextval('feedback_seq_counter')) "
            "ON CONFLICT (answer_id) DO UPDATE SET at = excluded.at, rating = excluded.rating,"
            " comment = COALESCE(excluded.comment, feedback.comment),"
            " question = COALESCE(excluded.question, feedback.question),"
            " answer = COALESCE(excluded.answer, feedback.answer),"
            " answered = COALESCE(excluded.answered, feedback.answered),"
            " passage_ids = CASE WHEN excluded.passage_ids = '[]' THEN feedback.passage_ids"
            " ELSE excluded.passage_ids END, seq = excluded.seq RETURNING seq",
            {"id": answer_id, "at": _now(), "r": 1 if rating == "up" else -1,
             "c": self._text(comment), "q": self._text(question), "a": clip(answer),
             "ok": None if answered is None else int(answered), "p": _passage_ids(passage_ids),
             "v": index_version}, fetch="one")
        self._prune("feedback", int(row[0]))

    def rows(self, table: str, since: str | None = None) -> list[dict[str, Any]]:
        if table not in ORDER:
            raise ValueError(table)
        sql = f"SELECT * FROM {table}" + (" WHERE at >= :since" if since else "")
        return self._run(sql, {"since": since} if since else {}, fetch="all")


def configured(store_questions: bool = True, max_bytes: int = DEFAULT_MAX_BYTES,
               url: str | None = None) -> SqlFeedbackStore | None:
    """The PostgreSQL store when `url` (DATABASE_URL, from the settings) is set, else None (SQLite)."""
    return SqlFeedbackStore(url, store_questions, max_bytes) if url else None
