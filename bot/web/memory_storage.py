"""limits' in-memory rate-limit storage with one long-lived expiry sweeper per process.

limits 5.8.0 starts a new 10 ms threading.Timer on nearly every hit (a thread start per
request on a server answering one question at a time) and, from two request threads at
once, can start the same timer twice (a traceback in the log). Reads already drop
expired keys themselves, so the sweeper only reclaims memory: one daemon thread per
process, started on first use after a fork (gunicorn preloads, threads do not survive
fork), is enough."""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "accord-memory"
SWEEP_SECONDS = 1.0


class LockedMemoryStorage(MemoryStorage):
    """MemoryStorage whose expired keys are swept by one thread per process; used for memory:// rate limits."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._timer_lock = threading.Lock()
        self._sweeper_pid: int | None = None
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    # Overrides MemoryStorage.__schedule_expiry (a private, name-mangled method).
    def _MemoryStorage__schedule_expiry(self) -> None:
        pid = os.getpid()
        if self._sweeper_pid == pid:
            return
        with self._timer_lock:
            if self._sweeper_pid != pid:
                threading.Thread(target=self._sweep, name="accord-ratelimit-sweeper", daemon=True).start()
                self._sweeper_pid = pid

    def _sweep(self) -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            self._MemoryStorage__expire_events()
