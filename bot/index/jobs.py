"""Admin changes as jobs: one small status file per job in `index/jobs/`, so whichever worker
process a poll reaches can answer it."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

FOLDER = "jobs"
KEEP = 200                               # newest job files kept; older ones are removed
JOB_ID = re.compile(r"[0-9a-f]{16}")     # fullmatch only: the id becomes a file name
INTERRUPTED = ("The server process running this change stopped before it finished. The next "
               "change or server start puts the corpus back (nothing changed) unless the new "
               "index version was already published; poll again to see which.")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _path(index_dir: Path, job_id: str) -> Path | None:
    return index_dir / FOLDER / f"{job_id}.json" if JOB_ID.fullmatch(job_id or "") else None


def _write(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)   # a poll reads the old record or the new one, never half of one


def create(index_dir: Path, kind: str) -> str:
    """A new job, running in this process; its id."""
    folder = index_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    job_id = secrets.token_hex(8)
    _write(folder / f"{job_id}.json", {
        "job_id": job_id, "kind": kind, "status": "running", "stage": "queued",
        "created": _now(), "updated": _now(), "pid": os.getpid(),
        "http_status": None, "result": None, "error": None})
    return job_id


def read(index_dir: Path, job_id: str) -> dict[str, Any] | None:
    """The job's record, or None when there is no such job. A running job whose process is
    gone is reported as failed: nobody will finish it."""
    path = _path(index_dir, job_id)
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None
    if record and record["status"] == "running" and not _alive(record.get("pid")):
        record.update(status="failed", http_status=500,
                      error={"code": "internal", "message": INTERRUPTED})
    return record


def update(index_dir: Path, job_id: str | None, **fields: Any) -> None:
    """Change fields of a job's record (the stage it is at, its outcome)."""
    path = _path(index_dir, job_id or "")
    if path is None:
        return
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    _write(path, {**record, **fields, "updated": _now()})


def finish(index_dir: Path, job_id: str, http_status: int, body: dict[str, Any]) -> None:
    """Record a job's outcome: the reply the request would have had, with its status."""
    failed = http_status >= 400
    update(index_dir, job_id, status="failed" if failed else "done", stage="done",
           http_status=http_status, result=None if failed else body,
           error=body.get("error") if failed else None)


def settled_after_kill(index_dir: Path, job_id: str | None, forward: bool, version: str) -> None:
    """What recovery found of a job whose process died (bot/index/journal.py)."""
    if forward:
        update(index_dir, job_id, status="done", stage="done", http_status=200,
               result={"status": "rebuilt", "index_version": version,
                       "note": "completed after the server process running it stopped"})
    else:
        update(index_dir, job_id, status="failed", stage="rolled back", http_status=500,
               error={"code": "internal", "message": "The server process running this change "
                      "stopped before it finished; it was rolled back and nothing was changed. "
                      "Send it again."})


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:   # removed meanwhile by another process's prune
        return 0.0


def _prune(folder: Path) -> None:
    jobs = sorted(folder.glob("*.json"), key=_mtime, reverse=True)
    for old in jobs[KEEP:]:
        old.unlink(missing_ok=True)
