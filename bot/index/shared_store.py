"""Index versions published once to shared storage (a folder, or an S3 bucket through fsspec and
s3fs) and pulled by every replica, which checks a version and switches to it as a local build
does.

Layout under the URL: versions/<version>/<files> (the manifest uploaded after the files it
lists) and CURRENT.json, {"version": ...}, written last: a replica never sees a pointer to a
version whose files are not all there. A pointer is one small object, replaced whole (S3 PUTs
and a rename in a folder are atomic)."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import AccordError, BuildLocked, IndexUnavailable
from .versions import (MANIFEST, VERSIONS, current_dir, new_version, point_current, read_manifest,
                       verify)

POINTER = "CURRENT.json"
MAX_POINTER_BYTES = 4096
S3_HINT = "S3 storage needs s3fs: pip install 'accord-bot[s3]'"
log = logging.getLogger("accord")


class SharedStoreError(AccordError):
    """The shared storage cannot be read or written, or holds something unusable."""


def _filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, root path in it) for a folder or an s3:// URL."""
    try:
        import fsspec
    except ImportError:
        raise SharedStoreError(S3_HINT) from None
    if url.startswith("s3://"):
        try:
            import s3fs  # noqa: F401  (fsspec finds it by the protocol)
        except ImportError:
            raise SharedStoreError(S3_HINT) from None
        # No listing cache: a replica must see a new pointer at its next poll. The AWS SDK
        # itself reads AWS_ENDPOINT_URL and the credentials from the environment.
        fs = fsspec.filesystem("s3", use_listings_cache=False, skip_instance_cache=True)
        return fs, url[len("s3://"):].rstrip("/")
    return fsspec.filesystem("file"), str(Path(url).expanduser().resolve())


class SharedIndex:
    """One shared store of index versions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = _filesystem(url)
        self.local = not url.startswith("s3://")

    def _path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def publish(self, folder: Path) -> str:
        """Upload a checked local version (files, then manifest) and point CURRENT.json at it."""
        manifest = verify(folder)
        version = manifest["version"]
        try:
            base = self._path("versions", version)
            for name in manifest.get("files", {}):
                self.fs.makedirs(os.path.dirname(self._path("versions", version, name)),
                                 exist_ok=True)
                self.fs.put_file(str(folder / name), self._path("versions", version, name))
            self.fs.put_file(str(folder / MANIFEST), f"{base}/{MANIFEST}")
            self._write_pointer({"version": version, "published_at": time.time()})
        except (OSError, ValueError) as exc:
            raise SharedStoreError(f"cannot publish {version} to {self.url}: {exc}") from None
        return version

    def _write_pointer(self, pointer: dict) -> None:
        data = json.dumps(pointer).encode()
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)
            tmp = Path(self._path(f".{POINTER}.{os.getpid()}"))
            tmp.write_bytes(data)
            os.replace(tmp, self._path(POINTER))
        else:
            self.fs.pipe_file(self._path(POINTER), data)

    def current(self) -> str | None:
        """The version the store points at, None when nothing was published yet."""
        try:
            data = self.fs.cat_file(self._path(POINTER), start=0, end=MAX_POINTER_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SharedStoreError(f"cannot read {self.url}/{POINTER}: {exc}") from None
        try:
            version = json.loads(data)["version"]
        except (ValueError, KeyError, TypeError):
            raise SharedStoreError(f"{self.url}/{POINTER} is damaged") from None
        if not isinstance(version, str) or not version or "/" in version or version.startswith("."):
            raise SharedStoreError(f"{self.url}/{POINTER} names no valid version")
        return version

    def pull(self, index_dir: Path, version: str) -> Path:
        """Download `version` into a staging folder of `index_dir`, check every file against
        its manifest and publish it there with the atomic switch; the caller holds the build
        lock."""
        try:
            with new_version(index_dir, version,
                             check=lambda staged: verify(staged, checksums="full")) as txn:
                self._download(txn.folder, version)
        except IndexUnavailable as exc:
            raise SharedStoreError(f"version {version} from {self.url} failed its checks, not "
                                   f"switched to: {exc}") from None
        except OSError as exc:
            raise SharedStoreError(f"cannot pull {version} from {self.url}: {exc}") from None
        assert txn.published is not None
        return txn.published

    def _download(self, staged: Path, version: str) -> None:
        """The manifest of `version`, then every file it lists, into `staged`."""
        base = self._path("versions", version)
        self.fs.get_file(f"{base}/{MANIFEST}", str(staged / MANIFEST))
        manifest = read_manifest(staged)
        if manifest.get("version") != version:
            raise SharedStoreError(f"{self.url}: version {version} has the manifest of "
                                   f"{manifest.get('version')!r}")
        for name in manifest.get("files", {}):
            target = (staged / name).resolve()
            if staged.resolve() not in target.parents:   # a name like ../../x
                raise SharedStoreError(f"{self.url}: version {version} names a file "
                                       f"outside its folder: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(f"{base}/{name}", str(target))

def open_shared(url: str) -> SharedIndex:
    return SharedIndex(url)


def local_version(index_dir: Path) -> str | None:
    try:
        return current_dir(index_dir).name
    except IndexUnavailable:
        return None


def sync_once(shared: SharedIndex, index_dir: Path) -> str | None:
    """Pull the shared current version if this replica does not serve it yet; returns the
    version pulled, None when there was nothing to do (or another process is pulling)."""
    from .build import index_lock

    wanted = shared.current()
    if wanted is None or wanted == local_version(index_dir):
        return None
    try:
        with index_lock(index_dir, wait=0):
            if wanted == local_version(index_dir):
                return None
            if (index_dir / "versions" / wanted / MANIFEST).is_file():
                # Pulled before (then another was published, and this one again): switch back.
                verify(index_dir / VERSIONS / wanted)
                point_current(index_dir, wanted)
            else:
                shared.pull(index_dir, wanted)
    except BuildLocked:
        return None   # another worker of this replica is pulling it
    return wanted


class Puller:
    """A daemon thread per process that keeps a replica's index on the shared current version;
    the server's workers then switch to it between requests as after a local build."""

    def __init__(self, url: str, index_dir: Path, every: float | str) -> None:
        self.shared = open_shared(url)
        try:
            self.every = float(every)
        except ValueError:
            self.every = float("nan")
        if not 0.2 <= self.every <= 3600:   # nan too
            raise ValueError(f"ACCORD_SHARED_POLL_SECONDS must be seconds from 0.2 to 3600, "
                             f"not {every!r}")
        self.index_dir = index_dir
        self.last_seen: str | None = None
        self.problem = ""
        self.refused: str | None = None   # a version that failed its checks: not fetched again
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_running(self) -> None:
        """Start the thread in this process (once; again in a forked child)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="accord-shared-index", daemon=True).start()

    def poll(self) -> str | None:
        try:
            self.last_seen = self.shared.current()
            if self.last_seen is not None and self.last_seen == self.refused:
                return None   # the same broken upload: not downloaded again at every poll
            pulled = sync_once(self.shared, self.index_dir)
            self.problem = ""
            if pulled:
                log.info("pulled index version %s from %s", pulled, self.shared.url)
            return pulled
        except AccordError as exc:
            self.problem = str(exc)
            if isinstance(exc, SharedStoreError) and "failed its checks" in str(exc):
                self.refused = self.last_seen
            log.error("shared index: %s", exc)
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        return {"url": self.shared.url, "version": self.last_seen,
                **({"problem": self.problem} if self.problem else {})}
