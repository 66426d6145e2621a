"""The demo's calendar: months of academy life, replayed through the real services in order.

Each step of the demo says what happened and when (``timeline.at(when, fn)``); the seeder
then runs everything in time order with the clock (``portal.db.utcnow``) set to each moment.
So every row and audit event carries the time it happened, accounts exist before anyone uses
them, licenses are issued before they expire, history and the audit chain run forward in
time, and nothing lies in the future. Times are relative to the moment the seeder starts.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from portal.db import clock, utcnow
from portal.extensions import db


class Timeline:
    def __init__(self, end: datetime | None = None):
        self.end = end or utcnow()
        self.now = self.end
        self._queue: list[tuple[datetime, int, Callable[[], object]]] = []
        self._order = itertools.count()
        self._running = False

    def __call__(self) -> datetime:
        """The clock while the demo is replayed: the moment being replayed."""
        return self.now

    def ago(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return self.end - timedelta(days=days, hours=hours, minutes=minutes)

    def at(self, when: datetime, fn: Callable[[], object]) -> None:
        """Do ``fn()`` at ``when`` (things at the same moment run in the order given)."""
        if when > self.end:
            raise ValueError(f"the demo cannot happen in the future ({when:%Y-%m-%d %H:%M})")
        if self._running and when < self.now:
            raise ValueError("the demo cannot schedule something in its own past")
        heapq.heappush(self._queue, (when, next(self._order), fn))

    def run(self) -> None:
        """Replay everything in time order; each moment's changes are flushed at that moment,
        so the database's own defaults (created_at ...) take that time too."""
        self._running = True
        with clock(self):
            while self._queue:
                self.now, _, fn = heapq.heappop(self._queue)
                fn()
                db.session.flush()
        self.now = self.end
        self._running = False
