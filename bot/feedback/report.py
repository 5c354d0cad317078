"""`accord report`: the questions the bot could not answer most often and its worst-rated answers,
so operators know which texts to add."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections import defaultdict
from typing import Any

from .store import FeedbackStore, question_key
from ..text.normalize import normalize_text

EXAMPLES = 3


def _since(days: int | None) -> str | None:
    if not days:
        return None
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    return start.isoformat(timespec="seconds")


def unanswered_questions(rows: list[dict[str, Any]], top: int) -> tuple[list[dict], int]:
    """Groups of the same question, most frequent first; and how many were kept without text."""
    groups: dict[str, dict[str, Any]] = {}
    hidden = 0
    for row in sorted(rows, key=lambda r: r["at"]):
        if not row["question"]:
            hidden += 1
            continue
        key = question_key(row["question"]) or row["question"]
        group = groups.setdefault(key, {"question": row["question"], "count": 0, "queries": []})
        group["count"] += 1
        group["question"], group["last_at"] = row["question"], row["at"]  # the latest wording
        if row["query"] and row["query"] != row["question"] \
                and row["query"] not in group["queries"]:
            group["queries"] = (group["queries"] + [row["query"]])[-EXAMPLES:]
    ranked = sorted(groups.values(), key=lambda g: (-g["count"], g["last_at"]), reverse=False)
    return ranked[:top], hidden


def worst_rated(rows: list[dict[str, Any]], top: int) -> list[dict]:
    """Answers rated down, grouped by their text (the same answer to other wordings counts
    together), the most down-rated first."""
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "down": 0, "up": 0, "questions": [], "comments": [], "passage_ids": [], "answer": None,
        "answered": None, "last_at": ""})
    for row in sorted(rows, key=lambda r: r["at"]):
        key = question_key(row["answer"] or "") or row["answer_id"]
        group = groups[key]
        group["down" if row["rating"] < 0 else "up"] += 1
        group["answer"] = row["answer"] or group["answer"]
        group["answered"] = bool(row["answered"]) if row["answered"] is not None \
            else group["answered"]
        group["last_at"] = row["at"]
        for field, value in (("questions", row["question"]), ("comments", row["comment"])):
            if value and value not in group[field]:
                group[field] = (group[field] + [value])[-EXAMPLES:]
        for pid in json.loads(row["passage_ids"] or "[]"):
            if pid not in group["passage_ids"]:
                group["passage_ids"].append(pid)
    rated_down = [g for g in groups.values() if g["down"]]
    rated_down.sort(key=lambda g: (g["up"] - g["down"], -g["down"], g["last_at"]))
    return rated_down[:top]


def build_report(store: FeedbackStore, top: int = 20, days: int | None = None) -> dict[str, Any]:
    since = _since(days)
    unanswered = store.rows("unanswered", since)
    feedback = store.rows("feedback", since)
    questions, hidden = unanswered_questions(unanswered, top)
    return {
        "database": str(store.path), "since": since,
        "unanswered_total": len(unanswered), "unanswered_without_text": hidden,
        "unanswered": questions,
        "ratings": {"up": sum(r["rating"] > 0 for r in feedback),
                    "down": sum(r["rating"] < 0 for r in feedback)},
        "worst_rated": worst_rated(feedback, top),
    }


def _safe(text: Any) -> str:
    # Text came from people: nothing in it may move the cursor or recolour the terminal.
    return normalize_text(str(text))


def _wrap(text: str, indent: str, width: int = 96) -> str:
    return textwrap.fill(_safe(text), width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ")


def format_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    lines = [f"Feedback database: {report['database']}"
             + (f" (since {report['since']})" if report["since"] else "")]
    lines.append("")
    lines.append(f"Questions the documents did not answer: {report['unanswered_total']}"
                 + (" (most frequent first)" if report["unanswered"] else ""))
    if report["unanswered_without_text"]:
        lines.append(f"  {report['unanswered_without_text']} kept without their text "
                     "(ACCORD_STORE_QUESTIONS was off)")
    for group in report["unanswered"]:
        lines.append(_wrap(f"{group['count']:>4}x  {group['question']}", "  "))
        for query in group["queries"]:
            lines.append(_wrap(f"searched as: {query}", "         "))
    lines.append("")
    ratings = report["ratings"]
    lines.append(f"Ratings: {ratings['up']} up, {ratings['down']} down. Worst-rated answers:"
                 if report["worst_rated"] else
                 f"Ratings: {ratings['up']} up, {ratings['down']} down. No answer was rated down.")
    for group in report["worst_rated"]:
        kind = "" if group["answered"] is not False else " [not answered]"
        lines.append(_wrap(f"{group['down']} down, {group['up']} up{kind}: "
                           f"{group['answer'] or '(answer text not sent)'}", "  "))
        for question in group["questions"]:
            lines.append(_wrap(f"asked: {question}", "      "))
        for comment in group["comments"]:
            lines.append(_wrap(f"comment: {comment}", "      "))
        if group["passage_ids"]:
            lines.append(_wrap("cited: " + ", ".join(group["passage_ids"]), "      "))
    return "\n".join(lines)
