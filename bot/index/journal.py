"""The durable record of an admin change in progress, and recovery from it after a kill.

An admin change (add, replace, remove documents) touches two things, the corpus folder and
`index/current`, and a process can die between them (SIGKILL, OOM, a deploy). So the intent
is written first: `index/.change-<id>/journal.json` names the version the build will publish
and every corpus file the change writes or removes, with the old and new bytes beside it.
Only once that is on disk is the corpus touched. Whoever next holds the build lock (the next
change, build or server start) finds the journal and settles it by what `current` points at:
the planned version was published -> the change happened, finish it (roll forward); it was
not -> it did not, put the old files back (roll back). Either way the corpus and the index
agree, and the journal folder goes."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from . import jobs as admin_jobs
from .versions import CURRENT, VERSIONS, remove_tree

log = logging.getLogger("accord")

PREFIX = ".change-"
JOURNAL = "journal.json"
OLD, NEW = "old.bin", "new.bin"
INCOMING = ".incoming-"
FILE_MODE = 0o644   # corpus files are readable by all, as files copied in by hand usually are


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(folder: Path) -> None:
    """Flush the filesystem holding `folder` to disk: one call for any number of files written
    (an fsync per file cost about 8 ms here: half a minute for 4,000 documents). A kill loses nothing in the
    page cache; this is for power loss, before a journal that could undo the files goes."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _syncfs is None or _syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def write_file(path: Path, raw: bytes, sync: bool = False) -> None:
    """Replace `path` by `raw` in one rename: a reader sees the old bytes or the new ones."""
    tmp = path.parent / f"{INCOMING}{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)   # os.open's mode is cut by the umask
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            if sync:
                os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _blob(folder: Path, name: str, parts: Sequence[bytes]) -> list[tuple[int, int]]:
    """Write parts one after another into one file (one fsync for any number of documents)."""
    spans, offset = [], 0
    with open(folder / name, "wb") as f:
        for raw in parts:
            f.write(raw)
            spans.append((offset, len(raw)))
            offset += len(raw)
        f.flush()
        os.fsync(f.fileno())
    return spans


@dataclass
class Change:
    """One journalled change: which corpus files it writes and removes, and what they held."""
    folder: Path
    record: dict[str, Any]

    @property
    def version(self) -> str:
        return self.record["version"]

    @property
    def corpus_dir(self) -> Path:
        return Path(self.record["corpus_dir"])

    def _bytes(self, blob: str, entry: dict[str, Any]) -> bytes:
        with open(self.folder / blob, "rb") as f:
            f.seek(entry["offset"])
            raw = f.read(entry["length"])
        if len(raw) != entry["length"] or hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            raise OSError(f"the journal of change {self.record['id']} is damaged ({blob})")
        return raw

    def apply(self) -> None:
        """Make the corpus hold the new state (idempotent: also how a change rolls forward).
        Files are not flushed one by one: `close` flushes them all before the journal goes."""
        corpus = self.corpus_dir
        for entry in self.record["writes"]:
            target = corpus / entry["name"]
            raw = self._bytes(NEW, entry)
            if not (target.is_file() and target.read_bytes() == raw):
                write_file(target, raw)
        for name in self.record["drops"]:
            (corpus / name).unlink(missing_ok=True)

    def undo(self) -> None:
        """Put back every file as it was before the change (idempotent)."""
        corpus = self.corpus_dir
        old = {e["name"]: e for e in self.record["old"]}
        for name in [e["name"] for e in self.record["writes"]] + self.record["drops"]:
            target = corpus / name
            if name in old:
                raw = self._bytes(OLD, old[name])
                if not (target.is_file() and target.read_bytes() == raw):
                    write_file(target, raw)
            else:
                target.unlink(missing_ok=True)

    def close(self) -> None:
        """The change is settled: the corpus is flushed, then the journal goes first, so a kill
        now leaves only debris."""
        for folder in (self.corpus_dir, self.folder.parent):   # the corpus, and the index published
            if folder.is_dir():
                sync_filesystem(folder)
        (self.folder / JOURNAL).unlink(missing_ok=True)
        remove_tree(self.folder)


def begin(index_dir: Path, corpus_dir: Path, version: str, writes: Sequence[tuple[Path, bytes]],
          drops: Sequence[Path], job: str | None = None) -> Change:
    """Record a change durably before the corpus is touched; the caller holds the build lock."""
    folder = index_dir / f"{PREFIX}{secrets.token_hex(6)}"
    folder.mkdir()
    before = [p for p in (*drops, *(t for t, _ in writes)) if p.is_file()]
    old_raw = [p.read_bytes() for p in before]
    old_spans = _blob(folder, OLD, old_raw)
    new_spans = _blob(folder, NEW, [raw for _, raw in writes])
    record = {
        "id": folder.name[len(PREFIX):], "job": job, "version": version,
        "corpus_dir": str(corpus_dir.resolve()),
        "writes": [{"name": t.name, "offset": o, "length": n, "sha256": hashlib.sha256(r).hexdigest()}
                   for (t, r), (o, n) in zip(writes, new_spans)],
        "drops": [p.name for p in drops],
        "old": [{"name": p.name, "offset": o, "length": n, "sha256": hashlib.sha256(r).hexdigest()}
                for p, r, (o, n) in zip(before, old_raw, old_spans)],
    }
    tmp = folder / (JOURNAL + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / JOURNAL)   # from here on the change exists
    _fsync_dir(folder)
    _fsync_dir(index_dir)
    return Change(folder, record)


def _published(index_dir: Path) -> str | None:
    try:
        return Path(os.readlink(index_dir / CURRENT)).name
    except OSError:
        return None


Settled = Callable[[Change, bool], None]   # told of each change recovered, and if it rolled forward


def settle(index_dir: Path, change: Change, on_settled: Settled | None = None) -> bool:
    """Finish or undo one change by what `current` was published from; True if it happened."""
    forward = _published(index_dir) == change.version
    if forward:
        change.apply()
    else:
        change.undo()
        # Published to versions/ but killed before `current` switched: never served, drop it.
        remove_tree(index_dir / VERSIONS / change.version)
    if on_settled:
        on_settled(change, forward)
    change.close()
    return forward


def debris(index_dir: Path) -> bool:
    """Whether anything a killed change or build leaves behind is there (cheap: two globs)."""
    return index_dir.is_dir() and (any(index_dir.glob(f"{PREFIX}*")) or
                                   any((index_dir / VERSIONS).glob(".staging-*")))


def recover(index_dir: Path, on_settled: Settled | None = None) -> None:
    """Settle every change a dead process left, and sweep what dead builds left.

    The caller holds the build lock, so nothing found here belongs to a live process."""
    if not index_dir.is_dir():
        return
    for folder in sorted(index_dir.glob(f"{PREFIX}*")):
        try:
            record = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
        except FileNotFoundError:
            remove_tree(folder)   # killed before its intent was recorded, or after it was settled
            continue
        except (OSError, ValueError):
            log.error("admin change journal %s is unreadable; left for a person to look at", folder)
            continue
        change = Change(folder, record)
        forward = settle(index_dir, change, on_settled)
        admin_jobs.settled_after_kill(index_dir, record.get("job"), forward, change.version)
        log.warning("an interrupted admin change (%s) was %s", record.get("id"),
                    "completed: its version was published" if forward
                    else "rolled back: its version was never published")
        for tmp in change.corpus_dir.glob(f"{INCOMING}*"):
            tmp.unlink(missing_ok=True)
    for stale in (index_dir / VERSIONS).glob(".staging-*"):
        remove_tree(stale)
    for link in index_dir.glob(f".{CURRENT}-*"):
        link.unlink(missing_ok=True)
