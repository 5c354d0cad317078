"""The index folder on disk: versions, manifest, checksums, and the atomic switch of `current`.

Every version is written through one transaction, `new_version`: files go into a private
staging folder, leaving the block checks them and publishes the folder (read-only, then
`current` switched in one rename); an exception removes the staging folder and `current`
stays where it was. A process killed inside the block leaves only the staging folder, which
the next holder of the build lock sweeps (`prune`, bot/index/journal.py `recover`)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import stat
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Sequence

from ..embedding.encoder import same_model
from ..errors import IndexUnavailable

FORMAT = 2          # 2: passages memory-mappable (bot/passage_store.py), index type recorded
MANIFEST = "manifest.json"
CURRENT = "current"
VERSIONS = "versions"
KEEP_VERSIONS = 3
REBUILD_HINT = "rebuild it with `accord build`"


# Loading checks every file's size, and the SHA-256 of whole files up to this size. Bigger files
# (a million passages make gigabytes) get a sampled digest at load: their head, tail and blocks
# spread through them; hashing all of them would cost seconds at every worker start and
# reload. `accord build` records both, `verify(..., checksums="full")` checks every byte.
FULL_CHECKSUM_BYTES = 64 << 20
SAMPLE_BLOCKS = 32
SAMPLE_BLOCK_BYTES = 64 << 10


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sample_sha256(path: Path) -> str:
    """SHA-256 of the size and of SAMPLE_BLOCKS blocks spread evenly from head to tail."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        last = max(0, size - SAMPLE_BLOCK_BYTES)
        for i in range(SAMPLE_BLOCKS):
            f.seek(last * i // (SAMPLE_BLOCKS - 1))
            digest.update(f.read(SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()


def new_version_name() -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{now}-{secrets.token_hex(3)}"


def staging_dir(index_dir: Path, version: str) -> Path:
    """A private folder where a build writes its files before they are published."""
    path = index_dir / VERSIONS / f".staging-{version}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Record size and checksum of every file, then write the manifest itself last."""
    manifest = dict(manifest, format=FORMAT)
    manifest["files"] = {str(p.relative_to(folder)): {"bytes": p.stat().st_size,
                                                      "sha256": sha256_file(p),
                                                      "sample_sha256": sample_sha256(p)}
                         for p in _files(folder)}
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def current_dir(index_dir: Path) -> Path:
    """The folder of the version being served; IndexUnavailable when there is none."""
    link = index_dir / CURRENT
    if not link.exists():
        raise IndexUnavailable(f"no index in {index_dir}: build one with `accord build`")
    return link.resolve()


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexUnavailable(f"{path} is missing; {REBUILD_HINT}") from None
    except (OSError, ValueError):
        raise IndexUnavailable(f"{path} is damaged (not JSON); {REBUILD_HINT}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexUnavailable(f"{path} has an unknown format; {REBUILD_HINT}")
    return manifest


def _prompts_note(model: dict[str, Any]) -> str:
    prompts = model.get("prompts")
    return f" (prompts {prompts})" if prompts else ""


def verify(folder: Path, model_probe: Sequence[float] | None = None,
           dimension: int | None = None, checksums: bool | str = True) -> dict[str, Any]:
    """The manifest, once every file matches it and the model is the one it was built with.

    Sizes are always checked. `checksums`: True, the SHA-256 of files up to
    FULL_CHECKSUM_BYTES and the sampled digest of bigger ones; "full", every byte of every
    file; False, sizes only."""
    manifest = read_manifest(folder)
    model = manifest.get("model", {})
    if dimension is not None and model.get("dimension") != dimension:
        raise IndexUnavailable(
            f"{folder / MANIFEST}: index vectors have dimension {model.get('dimension')} but the "
            f"model gives {dimension}; {REBUILD_HINT} with this model")
    if model_probe is not None and not same_model(model.get("probe", []), model_probe):
        raise IndexUnavailable(
            f"{folder / MANIFEST}: the index was built with model {model.get('name')!r}"
            f"{_prompts_note(model)}, not the configured model or prompts; {REBUILD_HINT}, "
            "or set ACCORD_MODEL to that model")
    for name, meta in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise IndexUnavailable(f"{path} is missing; {REBUILD_HINT}")
        if path.stat().st_size != meta["bytes"]:
            raise IndexUnavailable(f"{path} is truncated or changed ({path.stat().st_size} bytes, "
                                   f"expected {meta['bytes']}); {REBUILD_HINT}")
        if not checksums:
            continue
        if checksums == "full" or meta["bytes"] <= FULL_CHECKSUM_BYTES or "sample_sha256" not in meta:
            good = sha256_file(path) == meta["sha256"]
        else:
            good = sample_sha256(path) == meta["sample_sha256"]
        if not good:
            raise IndexUnavailable(f"{path} is corrupted (checksum mismatch); {REBUILD_HINT}")
    return manifest


READ_ONLY_FILE, READ_ONLY_DIR = 0o444, 0o555


def make_read_only(folder: Path) -> None:
    """Published files are never changed: servers map them, and a byte edited in place would
    show in one worker and not another, a truncation would kill a worker with SIGBUS. The mode
    says so to every tool and user (root ignores it: see docs/operations.md)."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(READ_ONLY_FILE)
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        path.chmod(READ_ONLY_DIR)
    folder.chmod(READ_ONLY_DIR)


def remove_tree(folder: Path) -> None:
    """Remove a folder, read-only published versions included (their folders are made
    writable first: removing a file needs write permission on its folder)."""
    if not folder.exists():
        return
    for path in (folder, *(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())):
        try:
            path.chmod(path.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def point_current(index_dir: Path, version: str) -> None:
    """Point `current` at a version already in versions/, in one atomic rename."""
    tmp_link = index_dir / f".{CURRENT}-{version}"
    os.symlink(Path(VERSIONS) / version, tmp_link)
    os.replace(tmp_link, index_dir / CURRENT)   # readers see the old or the new, never neither


def publish(index_dir: Path, staged: Path, version: str) -> Path:
    """Make a checked build read-only, move it into place and point `current` at it in one
    atomic rename."""
    final = index_dir / VERSIONS / version
    make_read_only(staged)
    os.replace(staged, final)
    point_current(index_dir, version)
    prune(index_dir)
    return final


Check = Callable[[Path], Any]
Stage = Callable[[str], None]


class NewVersion:
    """One index version being written: a context manager, made by `new_version`.

    Inside the block, write the version's files into `folder` (the staging folder) and call
    `write_manifest` last. Leaving the block normally runs `check` on the folder (by default
    `verify`: the manifest and every file's size and checksum) and publishes it; `published`
    is then its final folder. Any exception, in the block or from the check, removes the
    staging folder and is raised again: nothing is published and `current` does not move."""

    def __init__(self, index_dir: Path, version: str | None = None, check: Check = verify,
                 on_stage: Stage | None = None) -> None:
        self.index_dir = index_dir
        self.version = version or new_version_name()
        self.check = check
        self.on_stage = on_stage or (lambda name: None)
        self.folder = index_dir / VERSIONS / f".staging-{self.version}"
        self.manifest: dict[str, Any] | None = None
        self.published: Path | None = None

    def __enter__(self) -> NewVersion:
        self.folder = staging_dir(self.index_dir, self.version)
        return self

    def write_manifest(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Write the manifest: version and build time, then `fields`, then every file's size
        and checksums (so it comes after all other files)."""
        self.manifest = write_manifest(self.folder, {
            "version": self.version,
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **fields})
        return self.manifest

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            remove_tree(self.folder)
            return
        try:
            self.on_stage("checking")
            self.check(self.folder)
            self.on_stage("publishing")
            self.published = publish(self.index_dir, self.folder, self.version)
        except BaseException:
            remove_tree(self.folder)
            raise


def new_version(index_dir: Path, version: str | None = None, check: Check = verify,
                on_stage: Stage | None = None) -> NewVersion:
    """The transaction that writes, checks and publishes one version of the index in
    `index_dir` (the caller holds its build lock):

        with new_version(index_dir, check=...) as v:
            save_files(v.folder)
            v.write_manifest({...})
        v.published   # versions/<version>, now `current`

    `version` names it (default: build time and a random suffix); `on_stage` is told
    "checking" and "publishing" as the block is left."""
    return NewVersion(index_dir, version, check, on_stage)


def prune(index_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Remove old versions (and staging left by dead builds), keeping the newest `keep`."""
    versions = index_dir / VERSIONS
    live = current_dir(index_dir).name if (index_dir / CURRENT).exists() else None
    done = sorted((p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=_built, reverse=True)
    for old in done[keep:]:
        if old.name != live:
            remove_tree(old)
    # Called under the build lock, so any staging folder left is from a build that died.
    for stale in versions.glob(".staging-*"):
        remove_tree(stale)


def versions_on_disk(index_dir: Path) -> list[Path]:
    """Published version folders still on disk, newest first."""
    folder = index_dir / VERSIONS
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and (p / MANIFEST).is_file()), key=_built, reverse=True)


def _built(folder: Path) -> tuple[int, str]:
    """Order of versions: when the manifest was written (names made in one second tie)."""
    try:
        return (folder / MANIFEST).stat().st_mtime_ns, folder.name
    except OSError:
        return 0, folder.name
