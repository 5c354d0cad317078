"""A build run in a child process, so tests can SIGKILL it: it prints each stage and lingers there."""
import sys
import time
from pathlib import Path

from bot.build import build_index
from tests.fakes import FakeEncoder


class SlowEncoder(FakeEncoder):
    def encode(self, texts, batch_size=64, progress=False):
        time.sleep(0.05)
        return super().encode(texts)


def announce(stage: str) -> None:
    print(stage, flush=True)
    time.sleep(0.5)   # the parent kills while we are here


if __name__ == "__main__":
    build_index(Path(sys.argv[1]), Path(sys.argv[2]), SlowEncoder(), full=True, on_stage=announce)
    print("finished", flush=True)
