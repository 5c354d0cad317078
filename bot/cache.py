"""LRU caches bounded in bytes (cachetools), for everything the request path remembers."""
from __future__ import annotations

import dataclasses
import sys
from functools import wraps
from threading import Lock
from typing import Any, Callable, Hashable, TypeVar

import numpy as np
from cachetools import LRUCache

from .settings import BY_KEY

T = TypeVar("T")
ENTRY_OVERHEAD = 200   # the cache's own dict slot, order link and (value, size) pair, per entry


_LEAVES = frozenset({str, bytes, int, float, bool, type(None)})


def sizeof(obj: Any) -> int:
    """Bytes an object holds, counting what str, bytes, numbers, arrays, tuples, lists, dicts and
    dataclasses (Passage) contain: a cache entry's real weight, not its count."""
    kind = type(obj)
    if kind in _LEAVES:   # most of what is weighed: the words of a tuple of tokens
        return sys.getsizeof(obj)
    if kind is tuple or kind is list:
        # One level of strings inline: weighing each word through this function cost as
        # much as stemming it.
        return sys.getsizeof(obj) + sum(sys.getsizeof(x) if type(x) in _LEAVES else sizeof(x)
                                        for x in obj)
    if isinstance(obj, np.ndarray):
        return sys.getsizeof(obj) + (0 if obj.base is None else obj.nbytes)
    if isinstance(obj, (tuple, list, set, frozenset)):
        return sys.getsizeof(obj) + sum(sizeof(x) for x in obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(sizeof(k) + sizeof(v) for k, v in obj.items())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        return sys.getsizeof(obj) + sum(sizeof(getattr(obj, f.name)) for f in fields)
    return sys.getsizeof(obj)


# CACHE_BYTES of this process: the table's default until the app factory or the command line
# hands down the settings' (configure); the caches below are module-level, one per process.
_total = {"bytes": int(BY_KEY["CACHE_BYTES"].default)}
_shared: list[tuple["BytesLRU", float]] = []   # the decorators' caches and their shares


def budget(share: float, total: int | None = None) -> int:
    """Bytes one cache may hold: its share of `total`, by default CACHE_BYTES (the setting for all of them)."""
    return int(int(_total["bytes"] if total is None else total) * share)


def configure(total: int) -> None:
    """CACHE_BYTES for this process: the module-level caches are resized to their shares of it
    (emptied if that changes their size), and caches made later take theirs."""
    _total["bytes"] = int(total)
    for cache, share in _shared:
        cache.resize(budget(share))


class BytesLRU:
    """A thread-safe LRU map whose keys and values together stay under `max_bytes`; an entry
    larger than a tenth of that is computed every time rather than cached."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(int(max_bytes), 0)
        self._data: LRUCache = LRUCache(max(self.max_bytes, 1), getsizeof=lambda entry: entry[1])
        self._lock = Lock()

    @property
    def bytes(self) -> int:
        return int(self._data.currsize)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._data.get(key)
        if entry is not None:
            return entry[0]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        size = sizeof(key) + sizeof(value) + ENTRY_OVERHEAD
        if self.max_bytes and size <= self.max_bytes // 10:
            with self._lock:
                self._data[key] = (value, size)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def resize(self, max_bytes: int) -> None:
        """A new bound; the entries go if it changes (they were admitted under the old one)."""
        with self._lock:
            if max(int(max_bytes), 0) == self.max_bytes:
                return
            self.max_bytes = max(int(max_bytes), 0)
            self._data = LRUCache(max(self.max_bytes, 1), getsizeof=lambda entry: entry[1])


def bytes_cached(share: float) -> Callable[[Callable[[Any], T]], Callable[[Any], T]]:
    """Decorator: a one-argument function memoised in a BytesLRU of `budget(share)` bytes
    (the cache is the wrapper's `.cache`)."""
    def decorate(fn: Callable[[Any], T]) -> Callable[[Any], T]:
        cache = BytesLRU(budget(share))
        _shared.append((cache, share))

        @wraps(fn)
        def wrapper(arg: Any) -> T:
            return cache.get(arg, lambda: fn(arg))
        wrapper.cache = cache  # type: ignore[attr-defined]
        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]  # as functools.lru_cache
        return wrapper
    return decorate
