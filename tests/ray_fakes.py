"""Encoders for the Ray build tests that kill the worker process holding them."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from .fakes import FakeEncoder


class KillingEncoder(FakeEncoder):
    """Kills its own process at its second batch, `times` times in all (counted in files, so
    the restarted actor knows): a worker that dies in the middle of a build."""

    def __init__(self, marks: Path, times: int, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.marks, self.times, self.batches = Path(marks), times, 0

    def encode(self, texts, batch_size: int = 64, progress: bool = False):
        self.batches += 1
        if self.batches == 2:
            self.marks.mkdir(parents=True, exist_ok=True)
            done = len(list(self.marks.iterdir()))
            if done < self.times:
                (self.marks / f"kill-{done}-{os.getpid()}").touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return super().encode(texts, batch_size, progress)
