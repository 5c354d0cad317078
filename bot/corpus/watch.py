"""Following the corpus folder with watchdog and rebuilding once changes settle."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .reading import SUFFIXES, URL_FILE
from .variants import VARIANTS_FILE


class _Changes(FileSystemEventHandler):
    def __init__(self) -> None:
        self.last = 0.0
        self.pending = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        name = Path(str(event.dest_path or event.src_path)).name
        if event.is_directory or name.startswith("."):
            return  # our own temp and backup files
        if Path(name).suffix.lower() in (*SUFFIXES, URL_FILE) or name == VARIANTS_FILE:
            self.last = time.monotonic()
            self.pending.set()


def watch_corpus(corpus: Path, settle: float, rebuild: Callable[[], None],
                 stop: threading.Event | None = None) -> None:
    """Call `rebuild` after each burst of changes, once `settle` seconds pass without another."""
    changes = _Changes()
    observer = Observer()
    observer.schedule(changes, str(corpus), recursive=False)
    observer.start()
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            if not changes.pending.wait(timeout=0.2):
                continue
            if time.monotonic() - changes.last < settle:
                stop.wait(0.1)
                continue
            changes.pending.clear()
            rebuild()
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
