"""Scoring the bot on a question file in-process, with the same rules as shared/eval/score.py."""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from ..errors import AccordError

ANSWER_MAX_CHARS = 600
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
TYPES_NEEDING_GOLD = {"answerable", "alias", "followup"}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(QUOTES)).strip().lower()


def load_questions(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise AccordError(f"{path}:{n}: not a JSON object") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or "type" not in row:
            raise AccordError(f"{path}:{n}: each line needs 'question' and 'type'")
        row.setdefault("id", f"line{n}")
        row.setdefault("history", [])
        row.setdefault("gold", [])
        rows.append(row)
    return rows


def first_hit(citations: list[dict], gold: list[str]) -> int | None:
    wanted = [norm(g) for g in gold]
    for rank, cit in enumerate(citations, 1):
        if any(g in norm(cit.get("text", "")) for g in wanted):
            return rank
    return None


MARKER = re.compile(r"\[(\d+)\]")


def citation_problems(reply: dict[str, Any]) -> list[str]:
    """What breaks "every citation is cited, numbered in the order the answer cites them"."""
    if not reply["answered"]:
        return ["a refusal has citations"] if reply["citations"] else []
    marks = [int(m) for m in MARKER.findall(reply["answer"])]
    first_seen = list(dict.fromkeys(marks))
    problems = []
    if not marks or marks[0] != 1:
        problems.append(f"first marker is not [1]: {marks[:1]}")
    if first_seen != list(range(1, len(first_seen) + 1)):
        problems.append(f"markers not numbered in order of first citation: {first_seen}")
    numbers = [c["n"] for c in reply["citations"]]
    if numbers != first_seen:
        problems.append(f"citations {numbers} are not the cited {first_seen}")
    if any(c.get("highlights") for c in reply.get("related", [])):
        problems.append("a related passage carries a highlight")
    return problems


def ranked(reply: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """The ranked list shared/eval/score.py reads: citations, then related, cut at k."""
    return (list(reply.get("citations") or []) + list(reply.get("related") or []))[:k]


def score(bot: Any, rows: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    per_q = []
    for row in rows:
        # always_cite: the ranked passages of a refused question too (retrieval apart).
        full = bot.ask(row["question"], row.get("history", []), k=k, always_cite=True)
        reply = bot.ask(row["question"], row.get("history", []), k=k)
        answered = reply["answered"]
        retrieved = first_hit(ranked(full, k), row["gold"]) if row["gold"] else None
        rank = first_hit(ranked(reply, k), row["gold"]) if row["gold"] and answered else None
        answer = reply["answer"]
        in_answer = bool(row["gold"]) and answered and len(answer) <= ANSWER_MAX_CHARS and any(
            norm(g) in norm(answer) for g in row["gold"])
        per_q.append({"id": row["id"], "type": row["type"], "answered": answered, "rank": rank,
                      "answer_hit": in_answer, "ms": reply["took_ms"], "query": reply["query"],
                      "retrieved": retrieved, "citation_problems": citation_problems(reply)})
    ans = [q for q in per_q if q["type"] != "unanswerable"]
    una = [q for q in per_q if q["type"] == "unanswerable"]

    def hit(qs: list, n: int) -> float:
        return sum(1 for q in qs if q["rank"] and q["rank"] <= n) / max(len(qs), 1)

    out: dict[str, Any] = {
        "questions": len(per_q),
        "hit@1": hit(ans, 1), "hit@3": hit(ans, 3), "hit@5": hit(ans, 5),
        "mrr@5": sum(1 / q["rank"] for q in ans if q["rank"] and q["rank"] <= 5) / max(len(ans), 1),
        "answer_hit": sum(1 for q in ans if q["answer_hit"]) / max(len(ans), 1),
        "false_abstain": sum(1 for q in ans if not q["answered"]) / max(len(ans), 1),
        "abstain_ok": sum(1 for q in una if not q["answered"]) / max(len(una), 1),
        "p50_ms": statistics.median([q["ms"] for q in per_q]) if per_q else None,
    }
    # Retrieval alone, as if the bot never abstained: tells ranking errors from abstention ones.
    out["retrieval_hit@1"] = sum(1 for q in ans if q["retrieved"] == 1) / max(len(ans), 1)
    out["retrieval_hit@5"] = sum(1 for q in ans if q["retrieved"]) / max(len(ans), 1)
    for kind in sorted({q["type"] for q in ans}):
        out[f"hit@5[{kind}]"] = hit([q for q in ans if q["type"] == kind], 5)
    out["misses"] = [q["id"] for q in ans if not q["rank"]]
    out["retrieval_misses"] = [q["id"] for q in ans if not q["retrieved"]]
    out["false_abstentions"] = [q["id"] for q in ans if not q["answered"]]
    out["no_answer_in_answer"] = [q["id"] for q in ans if not q["answer_hit"]]
    out["wrongly_answered"] = [q["id"] for q in una if q["answered"]]
    out["citation_problems"] = {q["id"]: q["citation_problems"] for q in per_q if q["citation_problems"]}
    return out
