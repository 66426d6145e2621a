"""What a process remembers between requests: a small LRU, one per application.

Used where an answer may be kept only because the database decides when it is still good
(the verification's cached answers, checks that will never count). Each application has
its own (two apps in one process, as in the tests, never share one); each gunicorn worker
has its own, so nothing here is ever the only copy of anything.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from flask import current_app

V = TypeVar("V")
T = TypeVar("T")

_MISSING = object()


class LRU(Generic[V]):
    """At most ``size`` values, the least recently used going first; safe for threaded
    workers."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key, _MISSING)
            if value is _MISSING:
                return None
            self._items.move_to_end(key)
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: V, size: int | None = None) -> None:
        """Remember ``value``; ``size`` (when given) becomes the new bound."""
        with self._lock:
            if size is not None:
                self.size = size
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def of_app(name: str, make: Callable[[], T]) -> T:
    """The current application's object called ``name``, made by ``make`` on first use."""
    found = current_app.extensions.get(name)
    if found is None:
        found = current_app.extensions.setdefault(name, make())
    return found
