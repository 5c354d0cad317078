"""limits' in-memory rate-limit storage with its expiry timer started under a lock: in limits 5.8.0
two request threads can start the same timer twice (a traceback in the log on a busy server)."""
from __future__ import annotations

import threading
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "accord-memory"


class LockedMemoryStorage(MemoryStorage):
    """MemoryStorage whose timer (re)start is atomic; used for memory:// rate limits."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    # Overrides MemoryStorage.__schedule_expiry (a private, name-mangled method).
    def _MemoryStorage__schedule_expiry(self) -> None:
        with self._timer_lock:
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)
                self.timer.start()
