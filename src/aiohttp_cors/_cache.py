"""A least-recently-used cache bounded in entries and in bytes.

Request values end up in cache keys, so a cache bounded only by its number of
entries can be made to hold as many large values as an attacker sends: this
one is bounded in both, and its callers only store short values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """LRU cache holding at most ``max_entries`` entries of at most ``max_bytes`` in all.

    The caller states each entry's size (an estimate of the bytes its key and
    value pin); an entry larger than a tenth of the budget is not stored.
    """

    __slots__ = ("_entries", "evictions", "hits", "max_bytes", "max_entries", "misses", "size")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value for ``key`` (now the most recently used), or ``None``."""
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Store ``value``, evicting the least recently used entries to stay in bounds."""
        if size > self.max_bytes // 10:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[1]
        self._entries[key] = (value, size)
        self.size += size
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= dropped
            self.evictions += 1

    def clear(self) -> None:
        """Forget everything (the configuration changed)."""
        self._entries.clear()
        self.size = 0
