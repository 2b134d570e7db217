"""A bounded, thread-safe, in-process least-recently-used map for immutable lookups.

House rule: app processes keep no state of their own, and the only in-process caches hold
immutable lookups. Entries here must be facts that never change under their key (e.g. a course
rendered at one `content_version`), so they need no invalidation, only a bound: the least
recently used entries go once the entries' total weight passes `max_weight`. A lock guards the
order, since gunicorn's threads share the map.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class WeightedLRU(Generic[V]):
    def __init__(self, *, max_weight: int, weigh: Callable[[V], int]) -> None:
        self.max_weight = max_weight
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    @property
    def weight(self) -> int:
        return self._weight

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, V]:
        found = {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    found[key] = entry[0]
        return found

    def put(self, key: Hashable, value: V) -> None:
        self.put_many({key: value})

    def put_many(self, entries: dict[Hashable, V]) -> None:
        weighed = {key: (value, self._weigh(value)) for key, value in entries.items()}
        with self._lock:
            for key, entry in weighed.items():
                previous = self._entries.pop(key, None)
                if previous is not None:
                    self._weight -= previous[1]
                self._entries[key] = entry
                self._weight += entry[1]
            # The newest entry always stays, even when it alone outweighs the bound.
            while self._weight > self.max_weight and len(self._entries) > 1:
                _, (_, weight) = self._entries.popitem(last=False)
                self._weight -= weight

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)
